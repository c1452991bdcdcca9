"""TF Serving warmup requests, written into the SavedModel at export time.

TF Serving replays `<version>/assets.extra/tf_serving_warmup_requests` (a TFRecord file of
`PredictionLog` protos) when it loads a version, before the version takes traffic, so the
first real request does not pay for graph initialisation and kernel set-up. The records are
built from real posters — single-poster requests and one batched request — because a
request that differs in shape or content from real traffic warms the wrong paths. The
batched request also carries one empty poster, so the per-poster status path (a poster the
model answers without decoding, contract/serving.py) is warm too. A warmup request
that fails stops TF Serving from loading the version at all, so every real poster is checked
before it is written.
"""
import os
from typing import List, Sequence

import tensorflow as tf
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2

from contract import features
from contract import images
from models import data

# Where TF Serving looks for warmup data inside a model version directory.
WARMUP_DIR = 'assets.extra'
WARMUP_FILE = 'tf_serving_warmup_requests'
# Enough posters for a batched request and a few single ones; TF Serving stops at 1000.
NUM_WARMUP_POSTERS = 8
# The bad poster in the batched request: the contract answers it with status "empty".
BAD_WARMUP_POSTER = b''


def build_requests(posters: Sequence[bytes], signature_name: str,
                   input_name: str) -> List[prediction_log_pb2.PredictionLog]:
  """One single-poster request per poster, then one with all of them and BAD_WARMUP_POSTER.

  The model name is left empty: TF Serving runs warmup against the version it is loading,
  whatever name the deployment gives the model.
  """
  if not posters:
    raise ValueError('Warmup needs at least one poster.')
  for index, poster in enumerate(posters):
    try:
      images.inspect_image(poster)
    except images.PosterImageError as error:
      raise ValueError(f'Warmup poster {index} is not a usable poster: {error}') from error
  batches = [[poster] for poster in posters] + [[*posters, BAD_WARMUP_POSTER]]
  records = []
  for batch in batches:
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(signature_name=signature_name))
    request.inputs[input_name].CopyFrom(tf.make_tensor_proto(batch, dtype=tf.string))
    records.append(prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)))
  return records


def write_warmup_file(export_dir: str, records: Sequence[prediction_log_pb2.PredictionLog]
                     ) -> str:
  """Writes the records where TF Serving finds them; returns the file's path."""
  directory = os.path.join(export_dir, WARMUP_DIR)
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, WARMUP_FILE)
  with tf.io.TFRecordWriter(path) as writer:
    for record in records:
      writer.write(record.SerializeToString())
  return path


def read_warmup_file(model_dir: str) -> List[prediction_log_pb2.PredictionLog]:
  """The PredictionLog records of a model version's warmup file."""
  path = os.path.join(model_dir, WARMUP_DIR, WARMUP_FILE)
  return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
          for record in tf.data.TFRecordDataset(path)]


def request_tensors(record: prediction_log_pb2.PredictionLog) -> dict:
  """The signature's keyword arguments for a warmup record, as TF Serving would feed them."""
  return {name: tf.constant(tf.make_ndarray(proto))
          for name, proto in record.predict_log.request.inputs.items()}


def read_example_images(file_patterns: Sequence[str], count: int) -> List[bytes]:
  """The poster bytes of the first `count` examples of gzipped tf.Example files.

  The Trainer passes its eval files: ExampleGen has already fully decoded every poster
  there, so they are real posters that are known to be servable.
  """
  spec = {features.IMAGE: tf.io.FixedLenFeature([], tf.string)}
  dataset = data.records(data.matching_files(file_patterns)).take(count)
  return [tf.io.parse_single_example(record, spec)[features.IMAGE].numpy()
          for record in dataset]
