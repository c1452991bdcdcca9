"""What every model's training shares: the metric it is judged by and when it stops.

Macro PR-AUC over genres suits rare labels better than accuracy or loss, and the Evaluator's
gate uses the same measure, so every model monitors it on `eval` and keeps its best weights.
"""
from typing import Optional

import tensorflow as tf
from tensorflow.python.autograph.core import config as autograph_config  # pylint: disable=g-direct-tensorflow-import

from models import progress


def keep_autograph_out_of_keras() -> None:
  """Tells AutoGraph not to convert Keras 2's own code, as TensorFlow already does for Keras.

  Under TF_USE_LEGACY_KERAS=1, Keras 2 is the `tf_keras` package, and TensorFlow's list of
  modules AutoGraph leaves alone (tensorflow/python/autograph/core/config.py) names `keras`
  but not `tf_keras`. So the first `fit` transpiled tf_keras's whole train step: 15 of the
  genre head's 28 s (`git show 014bf2f:BENCHMARKS.md`), for a graph that comes out the same, since Keras' code
  is written for graph mode. Idempotent; the rule list is TensorFlow's own, read at every
  conversion."""
  rules = autograph_config.CONVERSION_RULES
  if not any(isinstance(rule, autograph_config.DoNotConvert) and rule.matches('tf_keras')
             for rule in rules):
    autograph_config.CONVERSION_RULES = (autograph_config.DoNotConvert('tf_keras'),) + rules


# Every Keras model of the project trains through this module.
keep_autograph_out_of_keras()

# Keras logs the eval value as 'val_' + this name.
PR_AUC = 'pr_auc'


def pr_auc_metric(num_genres: int) -> tf.keras.metrics.Metric:
  # Not named 'auc': a Keras metric sharing a TFMA built-in's name collides in TFMA.
  return tf.keras.metrics.AUC(curve='PR', multi_label=True, num_labels=num_genres,
                              name=PR_AUC)


def early_stopping(patience: int) -> tf.keras.callbacks.Callback:
  return tf.keras.callbacks.EarlyStopping(monitor=f'val_{PR_AUC}', mode='max',
                                          patience=patience, restore_best_weights=True)


class ProgressBar(tf.keras.callbacks.Callback):
  """A progress bar (models/progress.py) over the epochs of a Keras `fit`, with the eval
  metrics of the last epoch."""

  def __init__(self, description: str, epochs: Optional[int]):
    super().__init__()
    self._description, self._epochs = description, epochs
    self._bar = None

  def on_train_begin(self, logs=None):
    self._bar = progress.bar(self._description, self._epochs, 'epoch')

  def on_epoch_end(self, epoch, logs=None):
    if logs:
      self._bar.set_postfix({k: f'{v:.3f}' for k, v in logs.items() if k.startswith('val_')},
                            refresh=False)
    progress.advance(self._bar)

  def on_train_end(self, logs=None):
    self._bar.close()
