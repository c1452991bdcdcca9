"""Continuous training end to end: a drop arrives as a new span, and a run reuses the rest.

Three runs of the pipeline with spans on, on shared posters made small (tiny images, one
epoch), as `local_runner.py --spans` runs it:
  1. span 0 alone;
  2. after span 1 arrives (new posters, and posters whose images span 0 already has), with
     one stored embedding of span 0 corrupted in between;
  3. with no new data.
The window is SpanWindow's (components/span_window/), the same component and artifacts as the
Kubeflow and Vertex AI specs run.
"""
import csv
import glob
import json
import os

import pytest
import tensorflow as tf
from tfx import v1 as tfx

from components.evaluator import executor as genre_evaluator
from components.span_window import manifest
from contract import features
from contract import nodes
from contract import serving
from contract import vocabulary
from models import embeddings
from pipeline import configs
from pipeline import pipeline
from pipeline import run_summary
from tests import synthetic

SPAN0_POSTERS = 160
SPAN1_POSTERS = 40
# Span 1 also brings these many of span 0's images again, under new Ids.
REPEATED_IMAGES = 6


def _write_span(root, span, rows, header, images):
  span_dir = os.path.join(root, f'span-{span}')
  os.makedirs(os.path.join(span_dir, synthetic.IMAGES_DIR))
  with open(os.path.join(span_dir, synthetic.LABELS_FILE), 'w', encoding='utf-8',
            newline='') as f:
    writer = csv.writer(f, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
  for poster_id, source in images.items():
    os.symlink(source, os.path.join(span_dir, synthetic.IMAGES_DIR, poster_id + '.jpg'))


def _shared_rows(count):
  with open(os.path.join(synthetic.SHARED_DATA_ROOT, synthetic.LABELS_FILE),
            encoding='utf-8-sig', newline='') as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = [row for row in reader
            if os.path.exists(os.path.join(synthetic.SHARED_DATA_ROOT, synthetic.IMAGES_DIR,
                                           row[0] + '.jpg'))]
  return header, rows[:count]


def _image(poster_id):
  return os.path.join(synthetic.SHARED_DATA_ROOT, synthetic.IMAGES_DIR, poster_id + '.jpg')


def _read_records(split_dir):
  files = sorted(glob.glob(os.path.join(split_dir, '*')))
  return [tf.train.Example.FromString(r.numpy())
          for r in tf.data.TFRecordDataset(files, compression_type='GZIP')]


def _splits_by_id(examples_uri):
  return {example.features.feature[features.ID].bytes_list.value[0].decode(): split
          for split in ('train', 'eval', 'test')
          for example in _read_records(os.path.join(examples_uri, f'Split-{split}'))}


def _corrupt_one_embedding(embedded_uri):
  """Alters one stored train embedding, as a bad disk or a bad copy would; returns its Id."""
  split_dir = os.path.join(embedded_uri, 'Split-train')
  (path,) = glob.glob(os.path.join(split_dir, '*'))
  records = _read_records(split_dir)
  values = records[0].features.feature[features.EMBEDDING].float_list.value
  values[0] += 0.5
  os.chmod(path, 0o644)
  with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type='GZIP')) as writer:
    for example in records:
      writer.write(example.SerializeToString())
  return records[0].features.feature[features.ID].bytes_list.value[0].decode()


def _run(config):
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
      config.metadata_path)
  return {run.node_id: run for run in run_summary.latest_run(connection)}


@pytest.fixture(scope='module')
def span_runs(e2e_dataset, tmp_path_factory):
  """The three runs (see the module docstring) and what the test needs to judge them."""
  del e2e_dataset  # Only for its check that the shared posters are there.
  work = tmp_path_factory.mktemp('spans')
  root = str(work / 'drops')
  header, rows = _shared_rows(SPAN0_POSTERS + SPAN1_POSTERS)
  span0, span1 = rows[:SPAN0_POSTERS], rows[SPAN0_POSTERS:]
  repeated = [[f'ttrepeat{i}', *row[1:]] for i, row in enumerate(span0[:REPEATED_IMAGES])]
  _write_span(root, 0, span0, header, {row[0]: _image(row[0]) for row in span0})
  config = configs.PipelineConfig.of(
      data_root=root, spans=True, pipeline_name='poster-genres-spans',
      pipeline_root=str(work / 'root'), metadata_path=str(work / 'metadata.db'),
      serving_model_dir=str(work / 'serving'), image_height=96, image_width=64, epochs=1,
      min_macro_pr_auc=0.0, allow_anomalies=True)
  first = _run(config)
  corrupted = _corrupt_one_embedding(first[nodes.EMBEDDER].output_uris[nodes.EMBEDDED_EXAMPLES][0])
  _write_span(root, 1, span1 + repeated, header,
              {**{row[0]: _image(row[0]) for row in span1},
               **{f'ttrepeat{i}': _image(row[0]) for i, row in enumerate(span0[:REPEATED_IMAGES])}})
  second = _run(config)
  third = _run(config)
  return dict(config=config, first=first, second=second, third=third, corrupted=corrupted,
              repeated={f'ttrepeat{i}': row[0] for i, row in enumerate(span0[:REPEATED_IMAGES])})


def _examples_uri(run):
  (uri,) = run[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES]
  return uri


def test_a_run_ingests_only_the_new_span(span_runs):
  second_ids = _splits_by_id(_examples_uri(span_runs['second']))
  assert len(second_ids) == SPAN1_POSTERS + REPEATED_IMAGES
  assert set(span_runs['repeated']) <= set(second_ids)


def test_adding_a_span_moves_no_poster_to_another_split(span_runs):
  first = _splits_by_id(_examples_uri(span_runs['first']))
  second = _splits_by_id(_examples_uri(span_runs['second']))
  # The same image keeps its split whichever span brings it.
  for new_id, old_id in span_runs['repeated'].items():
    assert second[new_id] == first[old_id], new_id
  # And span 0's examples are the window's, unchanged, not ingested again.
  assert [artifact.uri for artifact in _window(span_runs['second'], manifest.EXAMPLES)] == [
      _examples_uri(span_runs['first']), _examples_uri(span_runs['second'])]


def _window(run, key):
  (uri,) = run[nodes.SPAN_WINDOW].output_uris[nodes.WINDOW]
  return manifest.window_artifacts(uri, key)


def test_the_contract_vocabulary_is_every_span_s(span_runs):
  contract = vocabulary.read_vocabulary_file(configs.PipelineConfig().genre_vocabulary_file)
  for run in ('first', 'second'):
    assert vocabulary.read_vocabulary(_examples_uri(span_runs[run])) == contract


def _trainer_summary(run):
  (model_run,) = run[nodes.TRAINER].output_uris['model_run']
  with open(os.path.join(model_run, embeddings.SUMMARY_FILE)) as f:
    return json.load(f)


def test_the_backbone_sees_only_new_posters_and_a_corrupt_entry_again(span_runs):
  first, second = span_runs['first'], span_runs['second']
  first_summary = _trainer_summary(first)
  # Run 1: PosterEmbedder embedded span 0, and the Trainer reused all of it.
  for split in ('train', 'eval'):
    assert first_summary[split]['backbone_views'] == 0
    assert first_summary[split]['reused'] == first_summary[split]['posters'] > 0
  # Run 2: PosterEmbedder embedded span 1 only ...
  (embedded,) = second[nodes.EMBEDDER].output_uris[nodes.EMBEDDED_EXAMPLES]
  with open(os.path.join(embedded, embeddings.SUMMARY_FILE)) as f:
    new_posters = sum(s['posters'] for s in json.load(f)['splits'].values())
  span1_ids = _splits_by_id(_examples_uri(second))
  assert new_posters == len(span1_ids)
  # ... and the Trainer embedded again exactly the one entry corrupted since run 1.
  summary = _trainer_summary(second)
  assert summary['train']['recomputed'] == {embeddings.CORRUPT: 1}
  assert summary['train']['backbone_views'] == 1
  assert summary['train']['reused'] == summary['train']['posters'] - 1
  assert summary['eval']['recomputed'] == {}
  assert summary['eval']['posters'] == (first_summary['eval']['posters']
                                        + sum(1 for s in span1_ids.values() if s == 'eval'))


def test_a_run_with_no_new_span_is_cached_throughout(span_runs):
  third = span_runs['third']
  assert {run.state for run in third.values()} == {'CACHED'}, {
      node: run.state for node, run in third.items()}


def test_the_evaluators_score_the_whole_window(span_runs):
  second = span_runs['second']
  (window_examples,) = second[nodes.SPAN_WINDOW].output_uris[nodes.WINDOW_EXAMPLES]
  for node in (nodes.EVALUATOR, nodes.TEST_EVALUATOR, nodes.SLICE_REPORT):
    assert second[node].input_uris[nodes.EXAMPLES] == [window_examples], node
  # Every poster of both spans, in its split, and no other.
  assert _splits_by_id(window_examples) == {**_splits_by_id(_examples_uri(span_runs['first'])),
                                            **_splits_by_id(_examples_uri(second))}
  # Both models scored from the stored embeddings of both spans (none of eval or test is
  # corrupt): no backbone pass in either Evaluator.
  for node in (nodes.EVALUATOR, nodes.TEST_EVALUATOR):
    (evaluation,) = second[node].output_uris[nodes.EVALUATION]
    with open(os.path.join(evaluation, genre_evaluator.GATE_FILE)) as f:
      assert json.load(f)['signatures'] == {'candidate': serving.EMBEDDING_SIGNATURE,
                                            'served': serving.EMBEDDING_SIGNATURE}, node
  # The oversampler trains on both spans' embedded examples, read in place.
  assert [a.uri for a in _window(second, manifest.EMBEDDED_EXAMPLES)] == [
      span_runs['first'][nodes.EMBEDDER].output_uris[nodes.EMBEDDED_EXAMPLES][0],
      second[nodes.EMBEDDER].output_uris[nodes.EMBEDDED_EXAMPLES][0]]


def test_the_window_is_published_for_the_next_run(span_runs):
  published = manifest.latest(span_runs['config'].span_window_dir)
  assert [entry.span for entry in published] == [0, 1]
  assert [entry.uris[manifest.EXAMPLES] for entry in published] == [
      _examples_uri(span_runs['first']), _examples_uri(span_runs['second'])]


def _oversampling_summary(run):
  (uri,) = run[nodes.OVERSAMPLER].output_uris[nodes.OVERSAMPLED_EXAMPLES]
  with open(os.path.join(uri, 'oversampling_summary.json')) as f:
    return json.load(f)


def test_an_image_that_a_new_span_brings_again_is_reported(span_runs):
  splits = _splits_by_id(_examples_uri(span_runs['second']))
  repeated_in_train = sum(1 for poster_id in span_runs['repeated']
                          if splits[poster_id] == 'train')
  assert repeated_in_train  # The fixture's repeated images must reach the train split.
  assert (_oversampling_summary(span_runs['second'])['repeated_images']
          == _oversampling_summary(span_runs['first'])['repeated_images'] + repeated_in_train)


def test_the_run_summary_says_what_was_embedded(span_runs):
  (uri,) = span_runs['second'][nodes.EMBEDDER].output_uris[nodes.EMBEDDED_EXAMPLES]
  line = run_summary.embedding_lines(uri, 'COMPLETE', spans=True)[0]
  assert line.startswith('Span 1: posters embedded once, for this and later runs: train ')
  assert 'no new span' in run_summary.embedding_lines(uri, 'CACHED', spans=True)[0]
  assert run_summary.embedding_lines(uri, 'COMPLETE', spans=False)[0].startswith(
      'Posters embedded once for the Trainer and both Evaluators: train ')
