"""The served model as the Evaluators' baseline, paired with the candidate by genre name.

TF Serving serves the highest numeric version of the serving directory, so that version is
the baseline: found by reading the directory rather than through a resolver node, which keeps
the compiled pipeline free of resolver executors (open-source Kubeflow Pipelines cannot run
them) and compares the candidate with the model that is really served.

TFMA pairs the two models' outputs by class id. That is only right while both have the same
genre vocabulary: a grown vocabulary makes TFMA fail on a class id out of range, a reordered
one compares different genres under one id. So the served model's vocabulary (its
`assets/genre_vocabulary.txt`) is read, and when it differs from the candidate's, the baseline
TFMA gets is a SavedModel of the served model's evaluation signatures whose outputs are
reordered into the candidate's vocabulary by name (genres it does not know score 0, and the
gate compares only the genres both know: components/evaluator/genre_judging.py).
"""
import dataclasses
import os
from typing import Dict, Optional, Tuple

import tensorflow as tf

from components import artifact_files
from contract import features
from contract import serving
from contract import vocabulary as genre_vocabulary
from models import data
from models import export


@dataclasses.dataclass(frozen=True)
class ServedModel:
  path: str
  # None when the model carries no vocabulary: it cannot be paired by name.
  genres: Optional[Tuple[str, ...]]
  # Its own record of its AUC-PR per genre on eval (models/export.py), if it has one.
  pr_auc: Optional[Dict[str, float]]


def served_version_dir(serving_model_dir: str) -> Optional[str]:
  """The version TF Serving serves from `serving_model_dir` (its highest numeric version
  holding a SavedModel), or None while nothing has been pushed."""
  if not serving_model_dir or not tf.io.gfile.isdir(serving_model_dir):
    return None
  versions = sorted((int(name.rstrip('/')) for name in tf.io.gfile.listdir(serving_model_dir)
                     if name.rstrip('/').isdigit()), reverse=True)
  for version in versions:
    path = os.path.join(serving_model_dir, str(version))
    if tf.io.gfile.exists(os.path.join(path, 'saved_model.pb')):
      return path
  return None


def read_served_model(serving_model_dir: str) -> Optional[ServedModel]:
  path = served_version_dir(serving_model_dir)
  if path is None:
    return None
  assets = os.path.join(path, 'assets')
  genres = (genre_vocabulary.read_vocabulary(assets)
            if tf.io.gfile.exists(os.path.join(assets, genre_vocabulary.VOCABULARY_FILE))
            else None)
  return ServedModel(path=path, genres=genres, pr_auc=export.read_eval_record(path))


class _Reordered(tf.Module):
  """One of the served model's evaluation signatures, its outputs in another genre order."""

  def __init__(self, served_dir: str, served_genres, genres, signature: str):
    super().__init__()
    self._served = tf.saved_model.load(served_dir)
    self._signature = signature
    served_index = {genre: i for i, genre in enumerate(served_genres)}
    # Column `len(served_genres)` is the zero column that genres it does not know read.
    self._columns = tf.constant([served_index.get(g, len(served_genres)) for g in genres],
                                tf.int32)
    self._genre_names = tf.constant(list(genres), tf.string)
    self._num_genres = len(genres)

  def _reorder(self, values: tf.Tensor) -> tf.Tensor:
    padded = tf.concat([values, tf.zeros_like(values[:, :1])], axis=1)
    return tf.gather(padded, self._columns, axis=1)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def serve(self, serialized):
    outputs = self._served.signatures[self._signature](examples=serialized)
    batch = tf.shape(serialized)[0]
    return {
        serving.SCORES: self._reorder(outputs[serving.SCORES]),
        serving.PREDICTED: self._reorder(outputs[serving.PREDICTED]),
        serving.CLASSES: tf.tile(self._genre_names[tf.newaxis, :], [batch, 1]),
    }

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def transform_features(self, serialized):
    """The labels of the evaluated examples, in their own (the candidate's) vocabulary."""
    parsed = tf.io.parse_example(serialized, {
        features.LABELS: data.raw_parse_spec(self._num_genres)[features.LABELS]})
    return {features.LABELS_XF: tf.cast(parsed[features.LABELS], tf.float32)}


def write_baseline(served: ServedModel, genres: Tuple[str, ...], model_dir: str,
                   signature: str) -> None:
  """The SavedModel TFMA evaluates as the baseline through `signature`, at `model_dir`: the
  served model itself when its vocabulary is the candidate's, else its outputs reordered
  into `genres`."""
  if served.genres == genres:
    artifact_files.copy_tree(served.path, model_dir)
    return
  module = _Reordered(served.path, served.genres, genres, signature)
  tf.saved_model.save(module, model_dir, signatures={
      signature: module.serve,
      serving.TRANSFORM_SIGNATURE: module.transform_features,
  })
