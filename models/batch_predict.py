"""Offline scoring of an ExampleGen split with an exported SavedModel.

`score` goes through `serving_default` on the raw poster bytes, exactly as TF Serving would;
`score_examples` through one of the model's tf.Example signatures, which give the same
answers (the head alone on PosterEmbedder's stored embedding, `embedding_tf_example`, where
that holds: components/evaluator/signatures.py). Either way the numbers the benchmarks and
reports show are those of the served model, decision rule included.
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
  # The serialized tf.Examples, with `with_records`.
  records: List[bytes] = dataclasses.field(default_factory=list)


def split_files(examples_uris: Sequence[str], split: str) -> List[str]:
  return [f for uri in examples_uris
          for f in sorted(tf.io.gfile.glob(os.path.join(uri, f'Split-{split}', '*')))]


def read_split(examples_uri: Union[str, Sequence[str]], split: str,
               with_images: bool = True, with_records: bool = False) -> LabelledSplit:
  """Every poster of one split of a PosterExampleGen `Examples` artifact (or of several: a
  window of spans), in file order."""
  uris = [examples_uri] if isinstance(examples_uri, str) else list(examples_uri)
  genres = genre_vocabulary.read_window_vocabulary(uris)
  files = split_files(uris, split)
  if not files:
    raise FileNotFoundError(f'No {split!r} split under {", ".join(uris)}.')
  spec = {features.ID: tf.io.FixedLenFeature([], tf.string),
          features.LABELS: tf.io.FixedLenFeature([len(genres)], tf.int64)}
  if with_images:
    spec[features.IMAGE] = tf.io.FixedLenFeature([], tf.string)
  ids, images, labels, records = [], [], [], []
  for batch in data.records(files).batch(256):
    parsed = tf.io.parse_example(batch, spec)
    ids.extend(value.decode() for value in parsed[features.ID].numpy())
    labels.append(parsed[features.LABELS].numpy())
    if with_images:
      images.extend(parsed[features.IMAGE].numpy())
    if with_records:
      records.extend(batch.numpy())
  return LabelledSplit(ids=ids, images=images, labels=np.concatenate(labels), genres=genres,
                       records=records)


Scored = Tuple[np.ndarray, np.ndarray, Tuple[str, ...]]


def score(saved_model_dir: str, images: List[bytes], batch_size: int = 32) -> Scored:
  """(scores [N, G], predicted [N, G], genre names) from the model's serving signature."""
  signature = tf.saved_model.load(saved_model_dir).signatures[export.SERVING_SIGNATURE]
  return _scored(lambda batch: signature(**{export.IMAGE_BYTES_INPUT: batch}), images,
                 batch_size)


def score_examples(saved_model_dir: str, records: List[bytes], signature_name: str,
                   batch_size: int = 256) -> Scored:
  """The same, from one of the model's tf.Example signatures (`signature_name`) on
  serialized examples."""
  signature = tf.saved_model.load(saved_model_dir).signatures[signature_name]
  return _scored(lambda batch: signature(examples=batch), records, batch_size)


def _scored(call, inputs: List[bytes], batch_size: int) -> Scored:
  scores, predicted, classes = [], [], None
  for start in range(0, len(inputs), batch_size):
    outputs = call(tf.constant(inputs[start:start + batch_size]))
    scores.append(outputs[export.SCORES].numpy())
    predicted.append(outputs[export.PREDICTED].numpy())
    if classes is None:
      classes = tuple(name.decode() for name in outputs[export.CLASSES].numpy()[0])
  return np.concatenate(scores), np.concatenate(predicted).astype(np.int64), classes
