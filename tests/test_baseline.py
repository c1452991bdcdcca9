"""The served model as the Evaluators' baseline: found in the serving directory, and paired
with the candidate by genre name when the vocabularies differ."""
import json
import os

import numpy as np
import tensorflow as tf

from components.evaluator import baseline
from contract import features
from contract import serving
from contract import vocabulary as genre_vocabulary
from models import export

SERVED_GENRES = ('Action', 'Drama', 'Western')


class _Served(tf.Module):
  """A stand-in with the exported model's evaluation signatures: scores 0.1, 0.2, 0.3."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def serve_tf_examples(self, serialized):
    batch = tf.shape(serialized)[0]
    scores = tf.tile(tf.constant([[0.1, 0.2, 0.3]]), [batch, 1])
    return {serving.SCORES: scores,
            serving.PREDICTED: tf.cast(scores > 0.15, tf.int32),
            serving.CLASSES: tf.tile(tf.constant([list(SERVED_GENRES)]), [batch, 1])}


def _served_model(directory, record=True):
  module = _Served()
  tf.saved_model.save(module, directory,
                      signatures={serving.TF_EXAMPLE_SIGNATURE: module.serve_tf_examples})
  genre_vocabulary.write_vocabulary(os.path.join(directory, 'assets'), SERVED_GENRES)
  if record:
    with open(os.path.join(directory, 'assets', export.EVAL_RECORD_FILE), 'w') as f:
      json.dump({'split': 'eval', 'posters': 10, 'num_thresholds': 1000,
                 'genres': {g: {'positives': 3, 'pr_auc': 0.5} for g in SERVED_GENRES}}, f)
  return directory


def _example(labels):
  return tf.train.Example(features=tf.train.Features(feature={
      features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'x'])),
      features.LABELS: tf.train.Feature(int64_list=tf.train.Int64List(value=labels)),
  })).SerializeToString()


def test_the_highest_version_with_a_saved_model_is_served(tmp_path):
  root = tmp_path / 'serving'
  _served_model(str(root / '7'))
  (root / '12').mkdir()  # a half-pushed version: no saved_model.pb yet
  (root / 'tmp').mkdir()
  served = baseline.read_served_model(str(root))
  assert served.path == str(root / '7')
  assert served.genres == SERVED_GENRES
  assert served.pr_auc == {g: 0.5 for g in SERVED_GENRES}
  assert baseline.read_served_model(str(tmp_path / 'nothing')) is None


def test_a_model_without_a_record_has_no_pr_auc(tmp_path):
  served = baseline.read_served_model(str(tmp_path))
  assert served is None
  _served_model(str(tmp_path / '1'), record=False)
  assert baseline.read_served_model(str(tmp_path)).pr_auc is None


def test_a_grown_reordered_vocabulary_gets_the_served_scores_by_name(tmp_path):
  served = baseline.read_served_model(os.path.dirname(_served_model(str(tmp_path / 's' / '1'))))
  genres = ('Western', 'Action', 'Horror', 'Drama')
  baseline.write_baseline(served, genres, str(tmp_path / 'baseline'),
                          serving.TF_EXAMPLE_SIGNATURE)
  loaded = tf.saved_model.load(str(tmp_path / 'baseline'))
  examples = tf.constant([_example([1, 0, 1, 0]), _example([0, 1, 0, 1])])
  outputs = loaded.signatures[serving.TF_EXAMPLE_SIGNATURE](examples=examples)
  # Western 0.3, Action 0.1, Horror unknown to the served model: 0, Drama 0.2.
  np.testing.assert_allclose(outputs[serving.SCORES].numpy(), [[0.3, 0.1, 0.0, 0.2]] * 2)
  np.testing.assert_array_equal(outputs[serving.PREDICTED].numpy(), [[1, 0, 0, 1]] * 2)
  assert [c.decode() for c in outputs[serving.CLASSES].numpy()[0]] == list(genres)
  labels = loaded.signatures[serving.TRANSFORM_SIGNATURE](examples=examples)
  np.testing.assert_array_equal(labels[features.LABELS_XF].numpy(),
                                [[1, 0, 1, 0], [0, 1, 0, 1]])


def test_the_same_vocabulary_is_the_served_model_itself(tmp_path):
  served = baseline.read_served_model(os.path.dirname(_served_model(str(tmp_path / 's' / '1'))))
  baseline.write_baseline(served, SERVED_GENRES, str(tmp_path / 'baseline'),
                          serving.TF_EXAMPLE_SIGNATURE)
  assert sorted(os.listdir(tmp_path / 'baseline')) == sorted(os.listdir(served.path))
