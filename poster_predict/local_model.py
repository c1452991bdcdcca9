"""Backend that runs the SavedModel in this process, through its `serving_default` signature.

The same call TF Serving makes: a batch of raw poster bytes in, the contract's outputs out
(models/export.py), so local answers equal served ones.
"""
import os
from typing import List, Sequence

from pipeline import runtime_env

runtime_env.require_legacy_keras()

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from models import export  # pylint: disable=g-import-not-at-top
from contract import serving as serving_contract  # pylint: disable=g-import-not-at-top
from poster_predict import prediction  # pylint: disable=g-import-not-at-top

SAVED_MODEL_FILE = 'saved_model.pb'


def newest_version(model_dir: str) -> str:
  """`model_dir` itself if it is a SavedModel, else its highest numbered version.

  TF Serving's layout: <model base path>/<integer version>/saved_model.pb; the Pusher names
  versions by push time, so the highest is the newest.
  """
  if tf.io.gfile.exists(os.path.join(model_dir, SAVED_MODEL_FILE)):
    return model_dir
  if not tf.io.gfile.isdir(model_dir):
    raise FileNotFoundError(f'there is no directory {model_dir}')
  versions = [name.rstrip('/') for name in tf.io.gfile.listdir(model_dir)]
  versions = [name for name in versions if name.isdigit() and tf.io.gfile.exists(
      os.path.join(model_dir, name, SAVED_MODEL_FILE))]
  if not versions:
    raise FileNotFoundError(f'{model_dir} is neither a SavedModel nor a directory of '
                            'numbered SavedModel versions')
  return os.path.join(model_dir, max(versions, key=int))


class LocalModel:
  """prediction.Backend over a SavedModel directory (a version, or a base of versions)."""

  def __init__(self, model_dir: str):
    self.model_dir = newest_version(model_dir)
    self.description = f'SavedModel {self.model_dir}'
    self._serve = tf.saved_model.load(self.model_dir).signatures[export.SERVING_SIGNATURE]

  def predict(self, batch: Sequence[bytes]) -> List[prediction.ModelOutput]:
    try:
      outputs = self._serve(**{export.IMAGE_BYTES_INPUT: tf.constant(list(batch))})
    except tf.errors.InvalidArgumentError as error:
      raise prediction.PredictionError(error.message.split('\n')[0]) from error
    scores = outputs[export.SCORES].numpy().tolist()
    classes = [[name.decode() for name in row] for row in outputs[export.CLASSES].numpy()]
    predicted = outputs[export.PREDICTED].numpy().tolist()
    if export.STATUS in outputs:
      statuses = [status.decode() for status in outputs[export.STATUS].numpy()]
    else:  # A model exported before the status output: it fails the batch instead.
      statuses = [serving_contract.OK] * len(scores)
    return [prediction.ModelOutput(tuple(s), tuple(c), tuple(p), status)
            for s, c, p, status in zip(scores, classes, predicted, statuses)]
