"""bench/top_block.py: cutting the backbone into a bottom and a trainable top, and the paired
bootstrap, on synthetic tensors (no ImageNet weights, no pipeline run)."""
import numpy as np
import pytest
import tensorflow as tf

from bench import top_block
from models import efficientnet_lite


@pytest.fixture(scope='module')
def backbone():
  tf.keras.utils.set_random_seed(0)
  model = efficientnet_lite.build_backbone('lite0', input_shape=(64, 32, 3), weights=None)
  # Random BN statistics, so that inference and training mode would differ if BN trained.
  for layer in model.layers:
    if isinstance(layer, tf.keras.layers.BatchNormalization):
      gamma, beta, mean, variance = layer.get_weights()
      layer.set_weights([gamma, beta, np.random.normal(size=mean.shape).astype(np.float32),
                         np.random.uniform(0.5, 2.0, size=variance.shape).astype(np.float32)])
  return model


def test_boundary_is_the_last_layer_before_the_top_blocks(backbone):
  assert top_block.boundary_layer(backbone, 1) == 'block14_add'
  assert top_block.boundary_layer(backbone, 2) == 'block13_add'
  with pytest.raises(ValueError):
    top_block.boundary_layer(backbone, 0)


@pytest.mark.parametrize('top_blocks', [1, 2])
def test_bottom_then_top_is_the_backbone(backbone, top_blocks):
  bottom, top = top_block.split_backbone(backbone,
                                         top_block.boundary_layer(backbone, top_blocks))
  images = np.random.default_rng(0).uniform(-1, 1, (4, 64, 32, 3)).astype(np.float32)
  assert bottom.output_shape == (None, 2, 1, 192)
  np.testing.assert_allclose(top(bottom(images)).numpy(), backbone(images).numpy(),
                             rtol=1e-5, atol=1e-5)
  assert bottom.count_params() + top.count_params() == backbone.count_params()
  # Shared layers: the top's weights are the backbone's.
  assert {id(w) for w in top.weights} <= {id(w) for w in backbone.weights}


def test_top_trains_its_convolutions_with_batch_norm_in_inference_mode(backbone):
  _, top = top_block.split_backbone(backbone, top_block.boundary_layer(backbone, 1))
  top_block.freeze_batch_norm(top)
  try:
    names = sorted(v.name.split('/')[0] for v in top.trainable_variables)
    assert names == ['block15_depthwise_conv', 'block15_expand_conv', 'block15_project_conv',
                     'head_conv']
    activations = np.random.default_rng(1).normal(size=(8, 2, 1, 192)).astype(np.float32)
    # The last block has no stochastic depth: training mode differs only if BN trained.
    np.testing.assert_allclose(top(activations, training=True).numpy(),
                               top(activations, training=False).numpy(), rtol=1e-6)
  finally:
    backbone.trainable = True
    for layer in backbone.layers:
      layer.trainable = True


def test_bootstrap_gain_is_zero_for_the_same_predictions_and_signed_otherwise():
  rng = np.random.default_rng(0)
  labels = (rng.uniform(size=(200, 4)) < 0.3).astype(np.int64)
  noisy = labels + rng.normal(0, 0.8, labels.shape)
  good = labels + rng.normal(0, 0.2, labels.shape)
  same = top_block.bootstrap_gain(labels, (noisy, noisy > 0.5), (noisy, noisy > 0.5), 50)
  assert all(g == {'gain': 0.0, 'low': 0.0, 'high': 0.0} for g in same.values())
  better = top_block.bootstrap_gain(labels, (good, good > 0.5), (noisy, noisy > 0.5), 200)
  for gain in better.values():
    assert 0 < gain['low'] <= gain['gain'] <= gain['high']
