"""The bench scripts' shared plumbing: the import prelude, argument sets, where a figure comes
from (command, machine, commit, date), writing BENCHMARKS.md, a finished run's artifacts and
cached embeddings, and the default head trained on them with pinned settings.

Every script starts with

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from bench import lib  # the prelude

Importing this module checks the project environment (Keras 2, as TFX needs) and, when a
bench script is the program, quiets the known noise before TensorFlow is imported. Nothing
here imports TensorFlow until a function needs it, so `--help` stays fast.
"""
import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(REPO_ROOT, 'bench')
BENCHMARKS_MD = os.path.join(REPO_ROOT, 'BENCHMARKS.md')
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

from pipeline import configs  # pylint: disable=g-import-not-at-top,wrong-import-position
from pipeline import runtime_env  # pylint: disable=g-import-not-at-top,wrong-import-position
from models.settings import TransformConfig  # pylint: disable=g-import-not-at-top,wrong-import-position

runtime_env.require_legacy_keras()
if os.path.dirname(os.path.abspath(getattr(sys.modules['__main__'], '__file__', None)
                                   or os.curdir)) == BENCH_DIR:
  runtime_env.quiet_known_noise()

SPLITS = ('train', 'eval', 'test')

# --- Arguments -------------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
  """A script's parser; its docstring, as written, is the help."""
  return argparse.ArgumentParser(description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def add_run_dir(arguments: argparse.ArgumentParser) -> None:
  """--run-dir: a finished run as the research scripts read it (its `metadata.db`, and the
  embeddings cached beside it)."""
  arguments.add_argument(
      '--run-dir', default=os.path.join(REPO_ROOT, 'bench_output', 'efficientnet_lite0'),
      help="A directory holding a finished run's ML Metadata store as metadata.db (a link "
           'will do); the embeddings are cached there.')


def local_dataset(location: str) -> str:
  """`location` as an absolute directory, if it holds a dataset in the Kaggle layout: a
  whole-run benchmark copies and links its posters, so a handle or a remote URI will not do."""
  from contract import layout  # pylint: disable=g-import-not-at-top
  root = os.path.abspath(location)
  if not os.path.isfile(os.path.join(root, layout.LABELS_FILE)):
    raise argparse.ArgumentTypeError(
        f'{location!r} is not a local dataset in the Kaggle layout: {layout.LABELS_FILE} is '
        f'missing under {root}.')
  return root


def add_data_and_work_dir(arguments: argparse.ArgumentParser, work_dir: str,
                          holds: str) -> None:
  """--data-root (the shared posters a whole-run benchmark starts from) and --work-dir."""
  arguments.add_argument('--data-root', type=local_dataset,
                         default=configs.PipelineConfig().data_root,
                         help='The shared posters, in the Kaggle layout: a local directory.')
  arguments.add_argument('--work-dir', default=work_dir,
                         help=f'Emptied, then holds {holds}.')


def add_benchmarks(arguments: argparse.ArgumentParser, default: str = BENCHMARKS_MD) -> None:
  arguments.add_argument('--benchmarks', default=default,
                         help='Markdown file to render the results into ("" to skip).')


def seeded_parser(description: str, seeds: Sequence[int]) -> argparse.ArgumentParser:
  """The arguments of a script that retrains the head with several seeds on a run's cached
  embeddings and compares with bootstrap intervals."""
  arguments = parser(description)
  add_run_dir(arguments)
  arguments.add_argument('--seeds', type=int, nargs='+', default=list(seeds))
  arguments.add_argument('--bootstrap', type=int, default=1000, help='Resamples of posters.')
  return arguments


# --- Where a figure comes from ---------------------------------------------------------------


def command() -> str:
  """The command line that ran this benchmark, as BENCHMARKS.md quotes it."""
  script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)
  return shlex.join(['.venv/bin/python', script, *sys.argv[1:]])


def machine() -> str:
  """What every benchmark figure names as its machine: cores and CPU model (figures compare
  only on the same CPU: TensorFlow's oneDNN path, for one, is on by default only on some)."""
  model = platform.processor() or platform.machine()
  if os.path.exists('/proc/cpuinfo'):
    with open('/proc/cpuinfo') as f:
      model = next((line.split(':', 1)[1].strip() for line in f
                    if line.startswith('model name')), model)
  return f'{os.cpu_count()} CPUs, {model}'


def commit() -> str:
  """The checkout's commit, with '+changes' when the tree differs from it (BENCHMARKS.md
  aside: a benchmark that wrote its section is no change to the code)."""
  def git(*args):
    return subprocess.run(['git', *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
  changed = git('status', '--porcelain', '--untracked-files=no', '--', '.',
                f':!{os.path.basename(BENCHMARKS_MD)}')
  return git('rev-parse', '--short', 'HEAD') + ('+changes' if changed else '')


def today() -> str:
  return datetime.date.today().isoformat()


def provenance() -> Dict[str, str]:
  """What a result records of where it was made: command, machine, commit and date."""
  return {'command': command(), 'machine': machine(), 'commit': commit(), 'date': today()}


def generated_by(result: Dict[str, Any]) -> str:
  """The first line of a generated section, from the result's `provenance`."""
  return (f"Generated by `{result['command']}` on {result['machine']}, commit "
          f"{result['commit']}, {result['date']}; do not edit by hand.")


# --- Writing BENCHMARKS.md -------------------------------------------------------------------


def markers(script: str) -> Tuple[str, str]:
  """The comments a script's generated section stands between, e.g. for 'serving.py'."""
  return (f'<!-- bench/{script}: begin -->', f'<!-- bench/{script}: end -->')


def write_section(markdown_path: str, section: str, begin_marker: str,
                  end_marker: str) -> None:
  """Replaces the text between the markers (the section includes them); appends the first
  time."""
  with open(markdown_path) as f:
    text = f.read()
  if begin_marker in text and end_marker in text:
    head, rest = text.split(begin_marker, 1)
    text = head + section + rest.split(end_marker, 1)[1]
  else:
    text = text.rstrip('\n') + '\n\n' + section + '\n'
  with open(markdown_path, 'w') as f:
    f.write(text)


def publish(section: str, markdown_path: str, begin_marker: str, end_marker: str) -> None:
  """A benchmark's ending: its section on stdout and, given a path, into that file."""
  print(section)
  if markdown_path:
    write_section(markdown_path, section, begin_marker, end_marker)
    print(f'Wrote {markdown_path}')


def gain_cell(gain: float, low: float, high: float) -> str:
  """A paired gain and its 95% interval, as every bench table shows it."""
  return f'{gain:+.3f} [{low:+.3f}, {high:+.3f}]'


def report(results: dict, markdown: str, output_path: str) -> None:
  """A research script's ending: its results as JSON at `output_path`, its table on stdout
  (BENCHMARKS.md quotes it by hand, with the reading)."""
  with open(output_path, 'w') as f:
    json.dump(results, f, indent=2)
  print()
  print(markdown)
  print(f'\nWrote {output_path}')


# --- A finished run and its cached embeddings ------------------------------------------------


def latest_runs(metadata_path: str) -> Dict[str, Any]:
  """node id -> the newest execution of that node in an ML Metadata store (run_summary)."""
  from tfx.orchestration import metadata  # pylint: disable=g-import-not-at-top
  from pipeline import run_summary  # pylint: disable=g-import-not-at-top
  return {run.node_id: run for run in run_summary.latest_run(
      metadata.sqlite_metadata_connection_config(metadata_path))}


def examples_uri(runs: Dict[str, Any]) -> str:
  """The run's PosterExampleGen Examples."""
  from contract import nodes  # pylint: disable=g-import-not-at-top
  return runs[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES][0]


# The preset whose preprocessing posters get at another input size: every EfficientNet-Lite
# preset normalizes as this one does.
LITE_PRESET = 'efficientnet_lite0'


def embedding_cache(run_dir: str, variant: str,
                    image_size: Optional[Tuple[int, int]] = None) -> str:
  """Named by what the embeddings are (models/embeddings.py's FORMAT_VERSION): a cache of an
  older format is left alone, not read."""
  from models import embeddings as stored  # pylint: disable=g-import-not-at-top
  size = f'_{image_size[0]}x{image_size[1]}' if image_size else ''
  return os.path.join(run_dir, f'embeddings_{variant}{size}_v{stored.FORMAT_VERSION}.npz')


class _Preprocessing:
  """What `models.data.make_dataset` reads of a TFTransformOutput, the Transform's own
  preprocessing (models/preprocessing.py) at another input size: posters embedded as the
  pipeline would embed them had its preset that size."""

  def __init__(self, config):
    self._config = config

  def transform_features_layer(self):
    from models import preprocessing  # pylint: disable=g-import-not-at-top
    return lambda inputs: preprocessing.preprocess(inputs, self._config)


def embeddings(run_dir: str, variant: str = 'lite0',
               image_size: Optional[Tuple[int, int]] = None
               ) -> Tuple[Dict[str, np.ndarray], Tuple[str, ...]]:
  """({'<split>': [N, D], '<split>_labels': [N, G]} of every distinct poster, the genres) of
  the run in `run_dir`: the frozen ImageNet backbone's embeddings, computed once (a few
  minutes on 2 CPUs) and cached beside the store (`embedding_cache`). With `image_size`
  (height, width), the posters go through the Transform's preprocessing at that size instead
  of the run's Transform graph (the default resize policy, the Lite presets' normalization).
  """
  from contract import nodes  # pylint: disable=g-import-not-at-top
  from contract import vocabulary  # pylint: disable=g-import-not-at-top
  runs = latest_runs(os.path.join(run_dir, 'metadata.db'))
  uri = examples_uri(runs)
  genres = vocabulary.read_vocabulary(uri)
  cache = embedding_cache(run_dir, variant, image_size)
  if os.path.exists(cache):
    with np.load(cache) as arrays:
      return dict(arrays), genres
  # pylint: disable=g-import-not-at-top
  import tensorflow_transform as tft
  from models import data
  from models import efficientnet_lite
  from models import transfer
  # pylint: enable=g-import-not-at-top
  if image_size:
    transform = _Preprocessing(TransformConfig(
        image_height=image_size[0], image_width=image_size[1]).for_model(LITE_PRESET))
    image_shape = (*image_size, 3)
  else:
    transform = tft.TFTransformOutput(runs[nodes.TRANSFORM].output_uris['transform_graph'][0])
    image_shape = data.image_shape(transform)
  backbone = efficientnet_lite.build_backbone(variant, input_shape=image_shape)
  arrays = {}
  for split in SPLITS:
    files = [os.path.join(uri, f'Split-{split}', '*')]
    index = data.poster_index(files, len(genres))
    posters = data.make_dataset(files, transform, len(genres), 64, shuffle=False,
                                keep=index.first_record)
    arrays[split] = transfer.embed(backbone, posters, description=f'Embedding {split}')
    arrays[f'{split}_labels'] = index.labels
  np.savez(cache, **arrays)
  return arrays, genres


# --- The head on cached embeddings, with pinned settings -------------------------------------

# The knobs that move a research table's figures: a script pins every one of them (`pinned`),
# so the command BENCHMARKS.md quotes reproduces its table whatever the live defaults become.
# What the code itself changes is not a knob: a table made before e7f3264 (heads on the top
# features alone, models/transfer.py) is reproduced at the commit it names.
RESULT_KNOBS = ('model_name', 'epochs', 'learning_rate', 'head_hidden_units', 'head_dropout',
                'head_early_stopping_patience', 'head_members', 'min_genres', 'max_genres',
                'oversample_max_copies', 'oversample_max_growth')
# The head's batch on embeddings (models/transfer.py's HeadConfig, not a knob), pinned too.
HEAD_BATCH_SIZE = 128


def pinned(**knobs: Any) -> configs.PipelineConfig:
  """The settings a research table was made with; every knob of RESULT_KNOBS must be given."""
  missing = [name for name in RESULT_KNOBS if knobs.get(name) is None]
  if missing:
    raise ValueError(f'Pin every knob that moves the figures; missing: {", ".join(missing)}.')
  return configs.PipelineConfig.of(**knobs)


def head_config(settings: configs.PipelineConfig):
  from models import transfer  # pylint: disable=g-import-not-at-top
  return dataclasses.replace(transfer.HeadConfig.of(settings.trainer),
                             batch_size=HEAD_BATCH_SIZE)


def train_head(train: np.ndarray, train_labels: np.ndarray, evaluation: np.ndarray,
               eval_labels: np.ndarray, settings: configs.PipelineConfig):
  """The head as the Trainer trains it under `settings`: the oversampler's copies of each
  train poster as repeated rows, early stopping on eval macro PR-AUC."""
  # pylint: disable=g-import-not-at-top
  from components.oversampler import policy
  from models import transfer
  # pylint: enable=g-import-not-at-top
  rows = np.repeat(np.arange(len(train_labels)), policy.plan_copies(
      train_labels, settings.oversample_max_copies, settings.oversample_max_growth))
  return transfer.train_head(train[rows], train_labels[rows], evaluation, eval_labels,
                             head_config(settings))


def head_scores(arrays: Dict[str, np.ndarray], seed: int, settings: configs.PipelineConfig,
                splits: Sequence[str] = ('eval', 'test')) -> Dict[str, np.ndarray]:
  """Scores [N, G] on `splits` of the head trained with `seed` on `embeddings`' arrays."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.keras.utils.set_random_seed(seed)
  head = train_head(arrays['train'], arrays['train_labels'], arrays['eval'],
                    arrays['eval_labels'], settings)
  return {split: head(arrays[split], training=False).numpy() for split in splits}
