"""The shared small pipeline run (tests/e2e_run.py): ingest, Transform, oversampler, export, TFMA."""
import collections
import dataclasses
import glob
import json
import os
import shutil

import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx

from components.data_gate import executor as data_gate
from components.evaluator import executor as genre_evaluator
from components.slice_report import evaluation
from components.oversampler import executor as oversampler_executor
from contract import features
from contract import serving
from components.poster_example_gen import summary as ingest_summary
from contract import vocabulary
from models import embeddings
from pipeline import pipeline
from pipeline import run_summary
from tests import e2e_run
from tests import synthetic

pytestmark = pytest.mark.e2e


def _read_examples(split_dir):
  files = glob.glob(os.path.join(split_dir, '*.gz'))
  return [tf.train.Example.FromString(record.numpy())
          for record in tf.data.TFRecordDataset(files, compression_type='GZIP')]


def _feature(example, key):
  feature = example.features.feature[key]
  return list(getattr(feature, feature.WhichOneof('kind')).value)


def test_every_component_completes_with_beam_workers_in_processes_of_their_own(
    e2e_pipeline_run):
  config, _, runs = e2e_pipeline_run
  assert f'--direct_running_mode={e2e_run.BEAM_MODE}' in config.beam_pipeline_args
  assert f'--direct_num_workers={e2e_run.BEAM_WORKERS}' in config.beam_pipeline_args
  assert {node: run.state for node, run in runs.items()} == {
      'PosterExampleGen': 'COMPLETE', 'StatisticsGen': 'COMPLETE',
      'ImportSchemaGen': 'COMPLETE', 'ExampleValidator': 'COMPLETE', 'DataGate': 'COMPLETE',
      'Transform': 'COMPLETE', 'PosterEmbedder': 'COMPLETE',
      'RareGenreOversampler': 'COMPLETE', 'Trainer': 'COMPLETE',
      'Evaluator': 'COMPLETE', 'TestEvaluator': 'COMPLETE', 'SliceReport': 'COMPLETE',
      'Pusher': 'COMPLETE'}


def test_the_shared_posters_keep_the_committed_data_contract(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  with open(os.path.join(runs['DataGate'].output_uris['drift'][0],
                         data_gate.VERDICT_FILE)) as f:
    verdict = json.load(f)
  assert verdict == {'anomalies': [], 'drift_distances': {}, 'allowed_by_opt_out': False,
                     'passed': True}
  # Accepted: they are the next run's drift baseline.
  config, _, _ = e2e_pipeline_run
  with open(os.path.join(config.accepted_statistics_dir, data_gate.LATEST_FILE)) as f:
    latest = json.load(f)
  assert latest['source'] == runs['StatisticsGen'].output_uris['statistics'][0]
  assert sorted(os.listdir(os.path.join(config.accepted_statistics_dir, latest['version']))) == [
      'Split-eval', 'Split-test', 'Split-train']


def test_report_accounts_for_every_row_with_reasons(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  report = ingest_summary.read_summary(runs['PosterExampleGen'].output_uris['ingest_summary'][0])
  assert report['csv_rows'] == e2e_run.SHARED_POSTERS + len(e2e_run.BAD_ROWS)
  assert report['kept_total'] + report['excluded_total'] == report['csv_rows']
  reasons = report['excluded_rows_per_reason']
  assert reasons['missing_image'] == 1
  assert reasons['empty_image'] == 1
  assert reasons['truncated_image'] == 1
  assert reasons['undecodable_image'] == 1
  assert reasons['only_na_label'] >= 1
  assert reasons['conflicting_labels'] == 2
  assert reasons['duplicate_row'] >= 1
  assert reasons['too_small_image'] == 1
  # An image file no CSV row names is not a row: counted and listed, not ingested.
  assert report['unlabelled_images'] == 1
  assert report['unlabelled_image_examples'] == [e2e_run.UNLABELLED_IMAGE]
  assert set(report['kept_per_split']) == {'train', 'eval', 'test'}
  assert report['duplicate_image_groups'] == [['ttdupa', 'ttdupb']]


def test_examples_are_complete_and_identical_images_share_a_split(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  examples_uri = runs['PosterExampleGen'].output_uris['examples'][0]
  report = ingest_summary.read_summary(runs['PosterExampleGen'].output_uris['ingest_summary'][0])
  vocab = vocabulary.read_vocabulary(examples_uri)
  assert list(vocab) == report['vocabulary']

  split_of = {}
  for split in ('train', 'eval', 'test'):
    examples = _read_examples(os.path.join(examples_uri, f'Split-{split}'))
    assert len(examples) == report['kept_per_split'][split]
    for example in examples:
      poster_id = _feature(example, features.ID)[0].decode()
      genres = [g.decode() for g in _feature(example, features.GENRES)]
      label_vector = _feature(example, features.LABELS)
      assert len(label_vector) == len(vocab)
      assert [g for g, on in zip(vocab, label_vector) if on] == genres
      assert _feature(example, features.N_GENRES) == [len(genres)] and genres
      assert _feature(example, features.IMAGE)[0][:2] in (b'\xff\xd8', b'\x89P')
      assert _feature(example, features.BYTE_SIZE) == [len(_feature(example, features.IMAGE)[0])]
      for key in (features.WIDTH, features.HEIGHT, features.ASPECT_RATIO,
                  features.COLOUR_MODE, features.IMAGE_FORMAT, features.MEAN_BRIGHTNESS,
                  features.IMAGE_SHA256, features.ASPECT_RATIO_BUCKET, features.SIZE_BUCKET,
                  features.BRIGHTNESS_BUCKET):
        assert len(_feature(example, key)) == 1, key
      assert poster_id not in split_of, f'{poster_id} written twice'
      split_of[poster_id] = split
  assert sum(report['kept_per_split'].values()) == len(split_of)
  assert split_of['ttdupa'] == split_of['ttdupb']
  for excluded in ('ttmissing', 'ttempty', 'tttruncated', 'ttnotimage', 'ttnagenre',
                   'ttconflict'):
    assert excluded not in split_of


def _split_files(examples_uri, split):
  return sorted(glob.glob(os.path.join(examples_uri, f'Split-{split}', '*')))


def test_every_poster_meets_the_backbone_once(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  raw_uri = runs['PosterExampleGen'].output_uris['examples'][0]
  embedded_uri = runs['PosterEmbedder'].output_uris['embedded_examples'][0]
  for split in ('train', 'eval', 'test'):
    raw = _read_examples(os.path.join(raw_uri, f'Split-{split}'))
    embedded = _read_examples(os.path.join(embedded_uri, f'Split-{split}'))
    entry = (features.EMBEDDING, features.EMBEDDING_KEY, features.EMBEDDING_CHECKSUM)
    for example in embedded:
      assert all(name in example.features.feature for name in entry)
      for name in entry:
        del example.features.feature[name]
    # The same records, with nothing else added or lost.
    assert sorted(e.SerializeToString(deterministic=True) for e in embedded) == sorted(
        e.SerializeToString(deterministic=True) for e in raw)
  # The Trainer reused every entry: no backbone pass of its own.
  with open(os.path.join(runs['Trainer'].output_uris['model_run'][0],
                         embeddings.SUMMARY_FILE)) as f:
    reuse = json.load(f)
  assert [reuse[split]['backbone_views'] for split in ('train', 'eval')] == [0, 0]
  assert all(reuse[split]['reused'] == reuse[split]['posters'] > 0 for split in reuse)


def test_oversampler_repeats_rare_train_posters_and_leaves_eval_and_test_alone(e2e_pipeline_run):
  config, _, runs = e2e_pipeline_run
  raw_uri = runs['PosterEmbedder'].output_uris['embedded_examples'][0]
  out_uri = runs['RareGenreOversampler'].output_uris['oversampled_examples'][0]
  for split in ('eval', 'test'):
    raw_files, out_files = _split_files(raw_uri, split), _split_files(out_uri, split)
    assert [os.path.basename(f) for f in raw_files] == [os.path.basename(f) for f in out_files]
    for raw, out in zip(raw_files, out_files):
      with open(raw, 'rb') as a, open(out, 'rb') as b:
        assert a.read() == b.read()
  assert vocabulary.read_vocabulary(out_uri) == vocabulary.read_vocabulary(raw_uri)

  raw_train = _read_examples(os.path.join(raw_uri, 'Split-train'))
  out_train = _read_examples(os.path.join(out_uri, 'Split-train'))
  with open(os.path.join(out_uri, oversampler_executor.SUMMARY_FILE)) as f:
    report = json.load(f)
  copies = collections.Counter(_feature(e, features.ID)[0] for e in out_train)
  assert set(copies) == {_feature(e, features.ID)[0] for e in raw_train}
  assert max(copies.values()) <= config.oversample_max_copies
  assert max(copies.values()) > 1
  assert report['posters_before'] == len(raw_train)
  assert report['examples_after'] == len(out_train) <= config.oversample_max_growth * len(raw_train)
  vocab = vocabulary.read_vocabulary(out_uri)
  recount = lambda examples: dict(zip(vocab, map(int, sum(
      tf.constant([_feature(e, features.LABELS) for e in examples]).numpy()))))
  assert report['genre_positives_before'] == recount(raw_train)
  assert report['genre_positives_after'] == recount(out_train)


def test_transform_graph_turns_raw_bytes_into_model_input(e2e_pipeline_run, e2e_dataset):
  config, _, runs = e2e_pipeline_run
  transform_output = tft.TFTransformOutput(
      runs['Transform'].output_uris['transform_graph'][0])
  poster = sorted(glob.glob(os.path.join(e2e_dataset, synthetic.IMAGES_DIR, 'tt0*.jpg')))[0]
  with open(poster, 'rb') as f:
    raw = {features.IMAGE: tf.constant([[f.read()]])}
  image = transform_output.transform_features_layer()(raw)[features.IMAGE_XF]
  transform = config.transform_custom_config
  assert image.shape == (1, transform['image_height'], transform['image_width'], 3)
  # The default model's convention: ImageNet EfficientNet-Lite's (x - 127) / 128.
  assert transform['normalization'] == 'symmetric'
  assert -127 / 128 <= float(tf.reduce_min(image)) and float(tf.reduce_max(image)) <= 1.0
  assert float(tf.reduce_min(image)) < 0.0


def test_pushed_model_answers_raw_bytes_with_the_serving_contract(e2e_pipeline_run, e2e_dataset):
  config, _, runs = e2e_pipeline_run
  versions = os.listdir(config.serving_model_dir)
  assert len(versions) == 1
  loaded = tf.saved_model.load(os.path.join(config.serving_model_dir, versions[0]))
  serve = loaded.signatures['serving_default']
  vocab = vocabulary.read_vocabulary(runs['PosterExampleGen'].output_uris['examples'][0])
  posters = sorted(glob.glob(os.path.join(e2e_dataset, synthetic.IMAGES_DIR, 'tt0*.jpg')))[:3]
  batch = []
  for path in posters:
    with open(path, 'rb') as f:
      batch.append(f.read())
  batch.append(synthetic.poster_bytes(mode='L', image_format='PNG'))
  outputs = serve(image_bytes=tf.constant(batch))
  assert set(outputs) == {'scores', 'classes', 'predicted', 'status'}
  assert outputs['status'].numpy().tolist() == [b'ok'] * len(batch)
  assert outputs['scores'].dtype == tf.float32
  assert outputs['scores'].shape == (len(batch), len(vocab))
  assert outputs['classes'].dtype == tf.string
  assert [c.decode() for c in outputs['classes'][0].numpy()] == list(vocab)
  assert outputs['predicted'].dtype == tf.int32
  assert set(outputs['predicted'].numpy().ravel()) <= {0, 1}
  scores = outputs['scores'].numpy()
  assert ((scores >= 0) & (scores <= 1)).all()


def test_evaluators_write_per_genre_and_macro_metrics(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  import tensorflow_model_analysis as tfma  # pylint: disable=g-import-not-at-top
  for node in ('Evaluator', 'TestEvaluator'):
    result = tfma.load_eval_result(runs[node].output_uris['evaluation'][0])
    overall = dict(result.slicing_metrics)[()]
    # Ranking metrics on the scores, decision metrics on the served `predicted` output.
    scores, predicted = overall['scores'], overall['predicted']
    assert 'auc_precision_recall' in scores['classId:0']
    assert 'f1_score' in predicted['classId:0']
    assert any('macro_average' in name and 'auc_precision_recall' in name
               for name in scores[''])
    assert any('macro_average' in name and 'f1_score' in name for name in predicted[''])


def test_a_second_run_is_served_from_the_cache(e2e_pipeline_run):
  config, connection, _ = e2e_pipeline_run
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  states = {run.node_id: run.state for run in run_summary.latest_run(connection)}
  assert states == {node: 'CACHED' for node in states}
  assert len(os.listdir(config.serving_model_dir)) == 1


def test_another_serving_directory_reevaluates_against_what_it_serves(e2e_pipeline_run,
                                                                      tmp_path):
  config, connection, runs = e2e_pipeline_run
  served = os.path.join(config.serving_model_dir, os.listdir(config.serving_model_dir)[0])
  # Its own serving directory, serving the shared run's model: the gate's baseline changes
  # (the shared run had none), so the Evaluators and what follows them run again.
  rerun_config = dataclasses.replace(config, serving_model_dir=str(tmp_path / 'serving'))
  shutil.copytree(served, os.path.join(rerun_config.serving_model_dir, '1'))
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(rerun_config))
  latest = {run.node_id: run for run in run_summary.latest_run(connection)}
  rerun = {'Evaluator', 'TestEvaluator', 'Pusher', 'SliceReport'}
  assert {node: run.state for node, run in latest.items()} == {
      node: 'COMPLETE' if node in rerun else 'CACHED' for node in latest}
  with open(os.path.join(latest['Evaluator'].output_uris['evaluation'][0],
                         genre_evaluator.GATE_FILE)) as f:
    assert json.load(f)['served_model'] == os.path.join(rerun_config.serving_model_dir, '1')
  with open(os.path.join(runs['Evaluator'].output_uris['evaluation'][0],
                         genre_evaluator.GATE_FILE)) as f:
    assert json.load(f)['served_model'] is None
  # Both models on the same frozen backbone: each scored from PosterEmbedder's entries.
  for node in ('Evaluator', 'TestEvaluator'):
    with open(os.path.join(latest[node].output_uris['evaluation'][0],
                           genre_evaluator.GATE_FILE)) as f:
      assert json.load(f)['signatures'] == {'candidate': serving.EMBEDDING_SIGNATURE,
                                            'served': serving.EMBEDDING_SIGNATURE}

  # The README's notebook snippet, on a test evaluation with a baseline and on one without.
  import tensorflow_model_analysis as tfma  # pylint: disable=g-import-not-at-top
  for run in (latest['TestEvaluator'], runs['TestEvaluator']):
    result = evaluation.load_candidate_result(run.output_uris['evaluation'][0])
    assert result.plots and result.slicing_metrics
    tfma.view.render_slicing_metrics(result, slicing_column='genres')
    tfma.view.render_plot(result, tfma.SlicingSpec(), output_name='scores', class_id=0)
