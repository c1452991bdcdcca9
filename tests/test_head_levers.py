"""bench/head_levers.py: the pooled features and the margin-ranked cap, on synthetic data (no
ImageNet weights, no pipeline run)."""
import numpy as np
import tensorflow as tf

from bench import head_levers
from bench import top_block
from models import efficientnet_lite
from models import thresholds


def test_pooled_features_start_with_the_backbone_embedding():
  tf.keras.utils.set_random_seed(0)
  backbone = efficientnet_lite.build_backbone('lite0', input_shape=(64, 32, 3), weights=None)
  images = np.random.uniform(-1, 1, size=(3, 64, 32, 3)).astype(np.float32)
  bottom, _ = top_block.split_backbone(backbone, head_levers.BOUNDARY)
  activations = bottom(images, training=False).numpy()
  arrays = {f'{view}_{head_levers.BOUNDARY}': activations for view in head_levers.VIEWS}
  pooled = head_levers.pooled_features(backbone, arrays)
  channels = 2 * (efficientnet_lite.EMBEDDING_SIZE + 320 + 192)
  assert pooled['eval'].shape == (3, channels)
  np.testing.assert_allclose(pooled['eval'][:, :efficientnet_lite.EMBEDDING_SIZE],
                             backbone(images, training=False).numpy(), atol=1e-5)
  standardized = head_levers.standardized(pooled)
  np.testing.assert_allclose(standardized['train'].mean(axis=0), 0, atol=1e-4)


def test_a_margin_weight_of_zero_is_the_per_genre_rule():
  rng = np.random.default_rng(0)
  labels = (rng.uniform(size=(400, 6)) < [0.5, 0.3, 0.2, 0.1, 0.05, 0.4]).astype(np.int64)
  scores = 1 / (1 + np.exp(-(2 * labels - 1 + rng.normal(0, 1.2, labels.shape))))
  trainer = top_block.DEFAULTS.trainer
  per_genre = thresholds.tune_rule(labels, scores, 'per_genre', trainer.min_genres,
                                   trainer.max_genres).apply(scores)
  np.testing.assert_array_equal(head_levers.margin_rule(labels, scores, 0.0)(scores), per_genre)
  margin = head_levers.margin_rule(labels, scores, 1.0)(scores)
  assert margin.sum(axis=1).max() <= trainer.max_genres
  assert margin.sum(axis=1).min() >= trainer.min_genres
