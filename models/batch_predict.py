"""Offline scoring of an ExampleGen split with an exported SavedModel.

Goes through `serving_default` on the raw poster bytes, exactly as TF Serving would, so the
numbers the benchmarks and reports show are those of the served model, decision rule
included.
"""
import dataclasses
import os
from typing import List, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from contract import features
from contract import vocabulary as genre_vocabulary
from models import data
from models import export


@dataclasses.dataclass(frozen=True)
class LabelledSplit:
  ids: List[str]
  images: List[bytes]
  labels: np.ndarray  # int64 [N, G]
  genres: Tuple[str, ...]


def read_split(examples_uri: Union[str, Sequence[str]], split: str,
               with_images: bool = True) -> LabelledSplit:
  """Every poster of one split of a PosterExampleGen `Examples` artifact (or of several: a
  window of spans), in file order."""
  uris = [examples_uri] if isinstance(examples_uri, str) else list(examples_uri)
  genres = genre_vocabulary.read_window_vocabulary(uris)
  files = [f for uri in uris
           for f in sorted(tf.io.gfile.glob(os.path.join(uri, f'Split-{split}', '*')))]
  if not files:
    raise FileNotFoundError(f'No {split!r} split under {", ".join(uris)}.')
  spec = {features.ID: tf.io.FixedLenFeature([], tf.string),
          features.LABELS: tf.io.FixedLenFeature([len(genres)], tf.int64)}
  if with_images:
    spec[features.IMAGE] = tf.io.FixedLenFeature([], tf.string)
  ids, images, labels = [], [], []
  dataset = data.records(files).batch(256)
  for batch in dataset.map(lambda records: tf.io.parse_example(records, spec)):
    ids.extend(value.decode() for value in batch[features.ID].numpy())
    labels.append(batch[features.LABELS].numpy())
    if with_images:
      images.extend(batch[features.IMAGE].numpy())
  return LabelledSplit(ids=ids, images=images, labels=np.concatenate(labels), genres=genres)


def score(saved_model_dir: str, images: List[bytes],
          batch_size: int = 32) -> Tuple[np.ndarray, np.ndarray, Tuple[str, ...]]:
  """(scores [N, G], predicted [N, G], genre names) from the model's serving signature."""
  signature = tf.saved_model.load(saved_model_dir).signatures[export.SERVING_SIGNATURE]
  scores, predicted, classes = [], [], None
  for start in range(0, len(images), batch_size):
    outputs = signature(**{export.IMAGE_BYTES_INPUT:
                           tf.constant(images[start:start + batch_size])})
    scores.append(outputs[export.SCORES].numpy())
    predicted.append(outputs[export.PREDICTED].numpy())
    if classes is None:
      classes = tuple(name.decode() for name in outputs[export.CLASSES].numpy()[0])
  return np.concatenate(scores), np.concatenate(predicted).astype(np.int64), classes
