"""Multi-label losses, the alternatives to oversampling for rare genres.

Every loss takes (labels [N, G] in {0, 1}, scores [N, G], sigmoid probabilities) and averages
over genres and posters, as Keras' binary cross-entropy does:
  - 'bce': plain binary cross-entropy (the research notebook's);
  - 'pos_weight': cross-entropy with each genre's positive term weighted by its
    negative/positive ratio in `train` (square-rooted and capped: full ratios of ~100 for the
    rarest genres make the model flag them everywhere);
  - 'focal': focal loss (Lin et al. 2017): (1 - p_t)^gamma down-weights easy examples,
    which in multi-label data are mostly the flood of easy negatives;
  - 'asymmetric': asymmetric loss (Ben-Baruch et al. 2021): focuses negatives harder than
    positives and discards very easy negatives (probability shifting by `clip`).
"""
from typing import Callable

import numpy as np
import tensorflow as tf

from models.settings import LOSSES

MAX_POSITIVE_WEIGHT = 10.0
_EPSILON = 1e-7

Loss = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def positive_weights(train_labels: np.ndarray,
                     max_weight: float = MAX_POSITIVE_WEIGHT) -> np.ndarray:
  """sqrt(negatives / positives) per genre, in [1, max_weight]; genres without positives: 1."""
  labels = np.asarray(train_labels, dtype=np.float64)
  positives = labels.sum(axis=0)
  negatives = len(labels) - positives
  ratio = np.divide(negatives, positives, out=np.ones_like(positives), where=positives > 0)
  return np.clip(np.sqrt(ratio), 1.0, max_weight).astype(np.float32)


def _clipped(scores: tf.Tensor) -> tf.Tensor:
  return tf.clip_by_value(tf.cast(scores, tf.float32), _EPSILON, 1.0 - _EPSILON)


def weighted_binary_crossentropy(weights: np.ndarray) -> Loss:
  weights = tf.constant(weights, dtype=tf.float32)

  def loss(labels, scores):
    labels, scores = tf.cast(labels, tf.float32), _clipped(scores)
    per_genre = -(weights * labels * tf.math.log(scores)
                  + (1.0 - labels) * tf.math.log(1.0 - scores))
    return tf.reduce_mean(per_genre, axis=-1)

  return loss


def focal_loss(gamma: float = 2.0) -> Loss:
  def loss(labels, scores):
    labels, scores = tf.cast(labels, tf.float32), _clipped(scores)
    p_true = labels * scores + (1.0 - labels) * (1.0 - scores)
    return tf.reduce_mean(-tf.pow(1.0 - p_true, gamma) * tf.math.log(p_true), axis=-1)

  return loss


def asymmetric_loss(gamma_negative: float = 4.0, gamma_positive: float = 0.0,
                    clip: float = 0.05) -> Loss:
  def loss(labels, scores):
    labels, scores = tf.cast(labels, tf.float32), _clipped(scores)
    shifted = tf.maximum(scores - clip, 0.0)  # negatives scoring below `clip` cost nothing
    positive = tf.pow(1.0 - scores, gamma_positive) * tf.math.log(scores)
    negative = tf.pow(shifted, gamma_negative) * tf.math.log(
        tf.clip_by_value(1.0 - shifted, _EPSILON, 1.0))
    return tf.reduce_mean(-(labels * positive + (1.0 - labels) * negative), axis=-1)

  return loss


def make_loss(name: str, train_labels: np.ndarray) -> Loss:
  """The loss called `name` (see LOSSES); `train_labels` sets 'pos_weight''s weights."""
  if name == 'bce':
    return tf.keras.losses.BinaryCrossentropy()
  if name == 'pos_weight':
    return weighted_binary_crossentropy(positive_weights(train_labels))
  if name == 'focal':
    return focal_loss()
  if name == 'asymmetric':
    return asymmetric_loss()
  raise ValueError(f'Unknown loss {name!r}; choose one of {LOSSES}.')
