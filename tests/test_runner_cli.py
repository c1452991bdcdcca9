"""The runners as users start them: bad settings fail at once, in one line, with no
traceback; `--help` lists every knob."""
import os
import subprocess
import sys

import pytest

import knobs
from pipeline import configs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, **environment):
  env = {k: v for k, v in os.environ.items() if not k.startswith('POSTER_')}
  return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                        env={**env, **environment}, timeout=120)


@pytest.mark.parametrize('args,environment,message', [
    (['--model-name', 'nope'], {}, "argument --model-name: invalid choice: 'nope'"),
    # The cloud runner refuses local paths before it looks at them (pipeline root first).
    (['--data-root', '/nonexistent'], {}, {
        'local_runner.py': "'/nonexistent' is not a dataset in the Kaggle layout",
        'kubeflow_v2_runner.py': 'is not a gs:// URI (POSTER_PIPELINE_ROOT)'}),
    ([], {'POSTER_RESIZE_POLICY': 'nope'}, "resize_policy='nope' is not one of"),
    (['--epochs', 'two'], {}, '--epochs=two'),
    ([], {'POSTER_MAX_GENRES': '0'}, 'max_genres=0 is below its minimum 1 (POSTER_MAX_GENRES)'),
])
@pytest.mark.parametrize('runner', ['local_runner.py', 'kubeflow_v2_runner.py'])
def test_a_bad_setting_fails_in_one_line_without_a_traceback(runner, args, environment,
                                                             message):
  if isinstance(message, dict):
    message = message[runner]
  result = _run([runner, *args], **environment)
  assert result.returncode != 0
  assert result.stdout == ''
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and message in lines[0], result.stderr
  assert lines[0].startswith(runner)


@pytest.mark.parametrize('runner', ['local_runner.py', 'kubeflow_v2_runner.py'])
def test_help_lists_every_knob(runner):
  result = _run([runner, '--help'])
  assert result.returncode == 0
  for field in knobs.knob_fields(configs.PipelineConfig):
    assert '--' + field.name.replace('_', '-') in result.stdout


def test_a_labels_file_without_an_id_column_stops_the_run_in_one_line(tmp_path):
  """Found when PosterExampleGen parses it: the run stops there, naming the problem."""
  from tests import synthetic  # pylint: disable=g-import-not-at-top
  root = synthetic.write_dataset(str(tmp_path / 'data'), [synthetic.csv_row('tt1', ['Drama'])],
                                 {'tt1': synthetic.poster_bytes()})
  labels = os.path.join(root, synthetic.LABELS_FILE)
  with open(labels, encoding='utf-8') as f:
    text = f.read()
  with open(labels, 'w', encoding='utf-8') as f:
    f.write(text.replace('Id,', 'Poster,', 1))
  result = _run(['local_runner.py', '--data-root', root, '--output-dir', str(tmp_path / 'out')])
  assert result.returncode != 0
  assert 'Traceback' not in result.stderr
  assert result.stderr.strip().splitlines()[-1] == (
      "local_runner.py: The labels CSV has no 'Id' column; header is "
      f"{['Poster', 'Genre'] + list(synthetic.GENRE_COLUMNS)}.")
  assert '✗ PosterExampleGen failed' in result.stdout
