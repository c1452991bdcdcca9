"""Imbalance losses: what each one rewards, on hand-made label/score pairs."""
import numpy as np
import pytest
import tensorflow as tf

from models import losses

LABELS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=np.float32)


def _value(loss, labels, scores):
  return float(tf.reduce_mean(loss(tf.constant(labels), tf.constant(scores, tf.float32))))


def test_positive_weights_grow_with_rarity_and_are_capped():
  labels = np.zeros((1000, 3))
  labels[:500, 0] = 1  # common: ratio 1
  labels[:10, 1] = 1  # rare: sqrt(990 / 10) ~ 9.95
  weights = losses.positive_weights(labels, max_weight=5.0)
  assert weights[0] == pytest.approx(1.0)
  assert weights[1] == pytest.approx(5.0)  # capped
  assert weights[2] == pytest.approx(1.0)  # no positives: neutral


@pytest.mark.parametrize('name', losses.LOSSES)
def test_every_loss_prefers_right_scores_to_wrong_ones(name):
  loss = losses.make_loss(name, LABELS)
  right = np.where(LABELS == 1, 0.9, 0.1)
  wrong = 1.0 - right
  assert 0.0 <= _value(loss, LABELS, right) < _value(loss, LABELS, wrong)


def test_weighted_crossentropy_with_unit_weights_is_plain_crossentropy():
  scores = np.full(LABELS.shape, 0.3, np.float32)
  weighted = losses.weighted_binary_crossentropy(np.ones(3, np.float32))
  plain = tf.keras.losses.BinaryCrossentropy()
  assert _value(weighted, LABELS, scores) == pytest.approx(
      float(plain(LABELS, scores)), rel=1e-4)


def test_focal_loss_discounts_easy_examples_more_than_hard_ones():
  focal, bce = losses.make_loss('focal', LABELS), losses.make_loss('bce', LABELS)
  easy = np.where(LABELS == 1, 0.95, 0.05)
  hard = np.where(LABELS == 1, 0.4, 0.6)
  assert (_value(focal, LABELS, easy) / float(bce(LABELS, easy))
          < _value(focal, LABELS, hard) / float(bce(LABELS, hard)))


def test_asymmetric_loss_ignores_negatives_below_the_clip():
  negatives = np.zeros((2, 3), np.float32)
  loss = losses.asymmetric_loss(clip=0.05)
  assert _value(loss, negatives, np.full((2, 3), 0.04)) == pytest.approx(0.0, abs=1e-6)
  assert _value(loss, negatives, np.full((2, 3), 0.5)) > 0.0


def test_unknown_loss_is_refused():
  with pytest.raises(ValueError, match='Unknown loss'):
    losses.make_loss('hinge', LABELS)
