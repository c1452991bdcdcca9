"""Every bench/ script imports against today's code, answers `--help` and says how it is run,
and every generated section's markers are in BENCHMARKS.md, so none rots unnoticed between
the runs that refresh BENCHMARKS.md; and the shared plumbing of bench/lib.py."""
import importlib
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from bench import lib

# The shared modules; every other file in bench/ is a script.
LIBRARIES = ('lib', 'stats')
SCRIPTS = sorted(name[:-3] for name in os.listdir(lib.BENCH_DIR)
                 if name.endswith('.py') and name[:-3] not in LIBRARIES)
# Every knob of lib.RESULT_KNOBS, as a research script pins them.
KNOBS = dict(model_name='efficientnet_lite0', epochs=60, learning_rate=1e-3,
             head_hidden_units=512, head_dropout=0.5, head_early_stopping_patience=8,
             head_members=1, min_genres=1, max_genres=3,
             oversample_max_copies=4, oversample_max_growth=3.0)


def test_the_scripts_are_those_benchmarks_md_describes():
  with open(lib.BENCHMARKS_MD) as f:
    text = f.read()
  for name in SCRIPTS:
    assert f'bench/{name}.py' in text, f'BENCHMARKS.md has no table of bench/{name}.py'


@pytest.mark.parametrize('name', SCRIPTS)
def test_the_script_imports_and_answers_help(name, monkeypatch, capsys):
  module = importlib.import_module(f'bench.{name}')
  assert module.__doc__ and f'bench/{name}.py' in module.__doc__, (
      f'bench/{name}.py does not say how it is run')
  monkeypatch.setattr(sys, 'argv', [f'bench/{name}.py', '--help'])
  with pytest.raises(SystemExit) as exited:
    module.main()
  assert exited.value.code == 0
  assert 'usage:' in capsys.readouterr().out


def _renders_into_benchmarks_md(name: str) -> bool:
  """Whether a script writes a generated section (the others print their tables)."""
  with open(os.path.join(lib.BENCH_DIR, f'{name}.py')) as f:
    return 'lib.markers(' in f.read()


@pytest.mark.parametrize('name', [name for name in SCRIPTS if _renders_into_benchmarks_md(name)])
def test_a_generated_section_has_its_markers_in_benchmarks_md(name):
  module = importlib.import_module(f'bench.{name}')
  assert (module.BEGIN_MARKER, module.END_MARKER) == lib.markers(f'{name}.py')
  with open(lib.BENCHMARKS_MD) as f:
    text = f.read()
  assert text.count(module.BEGIN_MARKER) == 1 and text.count(module.END_MARKER) == 1
  assert text.index(module.BEGIN_MARKER) < text.index(module.END_MARKER)


def test_write_section_replaces_between_the_markers_and_appends_the_first_time(tmp_path):
  path = tmp_path / 'B.md'
  begin, end = lib.markers('x.py')
  path.write_text(f'# B\n\n{begin}\nold\n{end}\n\nafter\n')
  lib.write_section(str(path), f'{begin}\nnew\n{end}', begin, end)
  assert path.read_text() == f'# B\n\n{begin}\nnew\n{end}\n\nafter\n'
  other_begin, other_end = lib.markers('y.py')
  lib.write_section(str(path), f'{other_begin}\ny\n{other_end}', other_begin, other_end)
  assert path.read_text().endswith(f'after\n\n{other_begin}\ny\n{other_end}\n')


def test_generated_by_names_command_machine_commit_and_date():
  made = lib.provenance()
  assert set(made) == {'command', 'machine', 'commit', 'date'}
  line = lib.generated_by(made)
  assert made['commit'] in line and made['date'] in line and made['machine'] in line
  assert lib.gain_cell(0.0125, -0.01, 0.03) == '+0.013 [-0.010, +0.030]'


def test_research_settings_are_pinned_whole():
  knobs = dict(KNOBS)
  settings = lib.pinned(**knobs)
  assert settings.trainer.head_members == 1 and settings.oversample_max_copies == 4
  assert lib.head_config(settings).batch_size == lib.HEAD_BATCH_SIZE
  del knobs['head_members']
  with pytest.raises(ValueError, match='missing: head_members'):
    lib.pinned(**knobs)


def test_cached_embeddings_are_read_and_an_older_formats_cache_is_not(tmp_path, monkeypatch):
  from models import embeddings as stored  # pylint: disable=g-import-not-at-top
  arrays = {'train': np.zeros((3, 2)), 'train_labels': np.zeros((3, 5))}
  np.savez(lib.embedding_cache(str(tmp_path), 'lite0'), **arrays)
  monkeypatch.setattr(lib, 'latest_runs', lambda path: {})
  monkeypatch.setattr(lib, 'examples_uri', lambda runs: 'examples')
  monkeypatch.setattr('contract.vocabulary.read_vocabulary', lambda uri: ('a',) * 5)
  loaded, genres = lib.embeddings(str(tmp_path), 'lite0')
  assert set(loaded) == {'train', 'train_labels'} and genres == ('a',) * 5
  np.testing.assert_array_equal(loaded['train'], arrays['train'])
  monkeypatch.setattr(stored, 'FORMAT_VERSION', stored.FORMAT_VERSION + 1)
  assert not os.path.exists(lib.embedding_cache(str(tmp_path), 'lite0'))


def test_embeddings_at_another_input_size_go_through_the_transforms_preprocessing(
    tmp_path, monkeypatch):
  from contract import features  # pylint: disable=g-import-not-at-top
  from models import efficientnet_lite  # pylint: disable=g-import-not-at-top
  from tests import synthetic  # pylint: disable=g-import-not-at-top
  examples = tmp_path / 'examples'
  labels = {'train': [[1, 0], [0, 1]], 'eval': [[1, 1]], 'test': [[0, 1]]}
  for split, rows in labels.items():
    os.makedirs(examples / f'Split-{split}')
    with tf.io.TFRecordWriter(str(examples / f'Split-{split}' / 'data.gz'),
                              options='GZIP') as writer:
      for number, row in enumerate(rows):
        writer.write(tf.train.Example(features=tf.train.Features(feature={
            features.ID: tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[f'{split}{number}'.encode()])),
            features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[synthetic.poster_bytes(seed=number)])),
            features.LABELS: tf.train.Feature(int64_list=tf.train.Int64List(value=row)),
        })).SerializeToString())
  monkeypatch.setattr(lib, 'latest_runs', lambda path: {})
  monkeypatch.setattr(lib, 'examples_uri', lambda runs: str(examples))
  monkeypatch.setattr('contract.vocabulary.read_vocabulary', lambda uri: ('a', 'b'))
  built = []
  build_backbone = efficientnet_lite.build_backbone

  def untrained_backbone(variant, input_shape, **unused):
    built.append((variant, tuple(input_shape)))
    return build_backbone(variant, input_shape=input_shape, weights=None)

  monkeypatch.setattr(efficientnet_lite, 'build_backbone', untrained_backbone)
  arrays, genres = lib.embeddings(str(tmp_path), 'lite1', (48, 32))
  assert built == [('lite1', (48, 32, 3))] and genres == ('a', 'b')
  assert os.path.exists(lib.embedding_cache(str(tmp_path), 'lite1', (48, 32)))
  assert not os.path.exists(lib.embedding_cache(str(tmp_path), 'lite1'))
  for split, rows in labels.items():
    assert arrays[split].shape == (len(rows), efficientnet_lite.TOP_FEATURES + 112 + 40)
    np.testing.assert_array_equal(arrays[f'{split}_labels'], rows)


def test_the_head_trains_on_the_oversampled_rows(monkeypatch):
  rng = np.random.default_rng(4)
  labels = (rng.random((40, 5)) < [0.6, 0.3, 0.2, 0.1, 0.05]).astype(np.int64)
  labels[:2, 4] = 1  # A rare genre for the oversampler to copy.
  arrays = {split: rng.random((40, 3)) for split in ('train', 'eval', 'test')}
  arrays.update(train_labels=labels, eval_labels=labels)
  seen = {}

  def fake_train_head(train, train_labels, evaluation, eval_labels, config):
    seen.update(train=train, labels=train_labels, evaluation=evaluation, config=config)
    return lambda x, training: tf.zeros((len(x), 5))

  monkeypatch.setattr('models.transfer.train_head', fake_train_head)
  knobs = {**KNOBS, 'head_dropout': 0.25, 'oversample_max_copies': 1}
  scores = lib.head_scores(arrays, 0, lib.pinned(**knobs))
  assert set(scores) == {'eval', 'test'}
  np.testing.assert_array_equal(seen['train'], arrays['train'])
  np.testing.assert_array_equal(seen['evaluation'], arrays['eval'])
  assert seen['config'].dropout == 0.25
  lib.head_scores(arrays, 0, lib.pinned(**{**knobs, 'oversample_max_copies': 4}))
  assert len(seen['train']) > 40  # The rare genre's posters were copied.
  assert seen['labels'][:, 4].sum() > labels[:, 4].sum()


def test_the_scale_data_hold_distinct_variants_of_every_poster_with_its_labels_and_split(tmp_path):
  import csv  # pylint: disable=g-import-not-at-top
  import hashlib  # pylint: disable=g-import-not-at-top
  from bench import scale  # pylint: disable=g-import-not-at-top
  from tests import synthetic  # pylint: disable=g-import-not-at-top
  rows = [synthetic.csv_row('tt1', ['Drama']), synthetic.csv_row('tt2', ['Comedy', 'Action']),
          synthetic.csv_row('tt2', ['Comedy', 'Action']), synthetic.csv_row('ttgone', ['Drama'])]
  source = synthetic.write_dataset(str(tmp_path / 'source'), rows, {
      'tt1': synthetic.poster_bytes(seed=1), 'tt2': synthetic.poster_bytes(seed=2)})
  assert scale.make_data_root(source, str(tmp_path / 'x3'), 3) == 8
  with open(tmp_path / 'x3' / synthetic.LABELS_FILE, encoding='utf-8') as f:
    written = {row[0]: row[1:] for row in list(csv.reader(f))[1:]}
  assert sorted(written) == ['tt1', 'tt1v1', 'tt1v2', 'tt2', 'tt2v1', 'tt2v2', 'ttgone']
  assert written['tt2v2'] == written['tt2'] and written['tt1v1'] == written['tt1']
  images = tmp_path / 'x3' / synthetic.IMAGES_DIR
  digests = {hashlib.sha256((images / name).read_bytes()).hexdigest()
             for name in os.listdir(images)}
  assert len(digests) == len(os.listdir(images)) == 6
  from components.poster_example_gen import splits  # pylint: disable=g-import-not-at-top
  from pipeline import configs  # pylint: disable=g-import-not-at-top
  split_of = {name.split('.')[0]: splits.assign_split(
      hashlib.sha256((images / name).read_bytes()).hexdigest(),
      list(configs.SPLIT_BUCKETS.items())) for name in os.listdir(images)}
  # A variant in another split than its original would leak a near copy into eval or test.
  assert all(split_of[poster_id] == split_of[poster_id.split('v')[0]] for poster_id in split_of)


def test_the_evaluation_bench_runs_the_evaluator_with_the_pipelines_beam_arguments(
    tmp_path, monkeypatch):
  # Arguments without a setup file make TFX pack itself into a fresh temporary directory for
  # every Beam executor it makes: seconds each, and about 50 MB left behind.
  from tfx.utils import dependency_utils  # pylint: disable=g-import-not-at-top
  from bench import evaluation  # pylint: disable=g-import-not-at-top

  def refuse():
    raise AssertionError('TFX built its ephemeral sdist')

  monkeypatch.setattr(dependency_utils, 'build_ephemeral_package', refuse)
  executor = evaluation.make_executor(str(tmp_path))
  args = evaluation.configs.PipelineConfig().beam_pipeline_args
  assert executor._beam_pipeline_args[:len(args)] == args  # pylint: disable=protected-access
