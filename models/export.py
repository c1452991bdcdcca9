"""Exports the trained model as one SavedModel with the serving contract.

Signatures:
  serving_default      image_bytes: string [N] raw poster files (what TF Serving gets)
                       -> scores, classes, predicted and status per poster
                       (contract/serving.py documents the contract)
  serving_tf_example   examples: serialized tf.Example [N] -> scores, classes, predicted
                       (for TFMA; its posters passed ingest's checks)
  embedding_tf_example examples with PosterEmbedder's `embedding` entry [N] -> the same,
                       from the head alone (models on a frozen backbone only: what both
                       Evaluators run, so that a poster meets the backbone once per run)
  transform_features   examples: serialized tf.Example [N] -> the float multi-hot labels
                       (TFMA's preprocessing function)

`serving_default` guards every poster on its own, inside the graph, so that no batch fails
for its content (TF Serving's server-side batching merges different clients' requests into
one call): the leading bytes sort out empty files, non-images and formats the model does not
read; the header gives the size a JPEG or PNG decodes to (a large JPEG at a reduced DCT
scale, models/preprocessing.py decode), and one beyond MAX_DECODED_PIXELS is refused before
it is decoded; the rest go one by one through the Transform graph (the same decode, resize and
normalization the model was trained with) in a tf.data pipeline whose `ignore_errors` drops a
poster that fails to decode, which then counts as truncated (no end-of-image marker) or
corrupt. Only the decoded posters reach the network, so a good poster's scores do not depend
on its batch.

The genre names and the decision rule (models/thresholds.py: a threshold per genre, at least
`min_genres`, at most `max_genres` per poster) are part of the graph, so `predicted` and every
client agree on them. The vocabulary also ships as an asset (`assets/genre_vocabulary.txt`)
for tools that read the model directory, and `assets.extra/tf_serving_warmup_requests`
(models/warmup.py) lets TF Serving warm a version up on real posters before it takes traffic.
`assets/embedding_key.txt` (frozen backbones only) names the embeddings the head reads
(models/embeddings.py): `embedding_tf_example` refuses an example whose entry has another
key, and the Evaluator uses the signature only where every entry's key and checksum hold.
`assets/eval_pr_auc.json` is the model's own record of its AUC-PR per genre on the `eval`
posters its decision rule was tuned on: once the model is served, the push gate weighs each
genre by it (components/evaluator/genre_judging.py).
"""
import json
import os
import tempfile
from typing import Dict, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from contract import features
from contract import serving as serving_contract
from contract import vocabulary as genre_vocabulary
from contract.serving import (  # pylint: disable=g-multiple-import
    CLASSES, EMBEDDING_SIGNATURE, IMAGE_BYTES_INPUT, PREDICTED, SCORES, SERVING_SIGNATURE,
    STATUS, TF_EXAMPLE_SIGNATURE, TRANSFORM_SIGNATURE)
from models import data
from models import pr_auc
from models import preprocessing
from models import thresholds as decision_rule
from models import warmup

# Leading bytes of image formats that are recognized but not read: (offset, bytes) pairs that
# must all match. The status says "unsupported format" rather than "not an image".
_OTHER_IMAGE_SIGNATURES = (
    ((0, b'GIF8'),),
    ((0, b'BM'),),
    ((0, b'RIFF'), (8, b'WEBP')),
    ((0, b'II*\x00'),),
    ((0, b'MM\x00*'),),
)
# How a complete file ends: a JPEG with its end-of-image marker, a PNG with its IEND chunk
# (a zero length, "IEND", then a 4-byte checksum).
_JPEG_END = b'\xff\xd9'
_PNG_END = b'IEND'


def _status_code(name: str) -> int:
  return serving_contract.STATUSES.index(name)


def _starts_with(image_bytes: tf.Tensor, signature) -> tf.Tensor:
  # Padding behind makes every offset valid for strings shorter than it.
  padded = tf.strings.join([image_bytes, b'\0' * 16])
  matches = [tf.strings.substr(padded, offset, len(value)) == value
             for offset, value in signature]
  return tf.reduce_all(tf.stack(matches), axis=0)


def _ends_complete(image_bytes: tf.Tensor) -> tf.Tensor:
  """Whether each JPEG/PNG ends with its format's end marker (element-wise)."""
  # Padding in front makes the negative offsets valid for strings shorter than them.
  padded = tf.strings.join([b'\0' * 8, image_bytes])
  return tf.where(preprocessing.is_jpeg(image_bytes),
                  tf.strings.substr(padded, -2, 2) == _JPEG_END,
                  tf.strings.substr(padded, -8, 4) == _PNG_END)


def sniff_status(image_bytes: tf.Tensor) -> tf.Tensor:
  """int32 [N]: the status code of every poster that cannot be a JPEG or PNG, and for the
  others the code they get if they fail to decode (truncated or corrupt)."""
  other_image = tf.reduce_any(tf.stack([_starts_with(image_bytes, signature)
                                        for signature in _OTHER_IMAGE_SIGNATURES]), axis=0)
  readable = tf.logical_or(preprocessing.is_jpeg(image_bytes),
                           preprocessing.is_png(image_bytes))
  code = tf.where(_ends_complete(image_bytes), _status_code(serving_contract.CORRUPT),
                  _status_code(serving_contract.TRUNCATED))
  code = tf.where(readable, code, tf.where(other_image,
                                           _status_code(serving_contract.UNSUPPORTED_FORMAT),
                                           _status_code(serving_contract.NOT_AN_IMAGE)))
  return tf.where(tf.strings.length(image_bytes) == 0, _status_code(serving_contract.EMPTY),
                  code)


def guarded_images(image_bytes: tf.Tensor, transform_one, image_shape: Sequence[int]):
  """(status code int32 [N], rows int32 [K], images float [K, *image_shape]): the posters
  that decoded, by row, and every poster's status. Never fails for the posters' content.

  `transform_one(poster bytes scalar) -> image` is the Transform graph on one poster.
  """
  status = sniff_status(image_bytes)
  height, width = image_shape[0], image_shape[1]
  # Posters that may be a JPEG or PNG: their status is a failure until they decode.
  may_decode = tf.logical_or(tf.equal(status, _status_code(serving_contract.TRUNCATED)),
                             tf.equal(status, _status_code(serving_contract.CORRUPT)))
  candidates = tf.cast(tf.where(may_decode)[:, 0], tf.int32)

  def decode_one(row, poster):
    size = preprocessing.decoded_size(poster, height, width)
    too_large = tf.reduce_prod(size) > serving_contract.MAX_DECODED_PIXELS
    image = tf.cond(too_large, lambda: tf.zeros(image_shape, tf.float32),
                    lambda: transform_one(poster))
    return row, too_large, image

  decoded = (tf.data.Dataset.from_tensor_slices((candidates, tf.gather(image_bytes, candidates)))
             .map(decode_one).ignore_errors())
  # All survivors in one batch; the empty batch after it answers when none survive.
  nothing = (tf.zeros([0], tf.int32), tf.zeros([0], tf.bool),
             tf.zeros([0, *image_shape], tf.float32))
  decoded = decoded.batch(tf.cast(tf.maximum(tf.size(candidates), 1), tf.int64)).concatenate(
      tf.data.Dataset.from_tensors(nothing))
  options = tf.data.Options()
  # A fresh pipeline per call: its graph rewrites would cost more than they save.
  options.experimental_optimization.apply_default_optimizations = False
  options.autotune.enabled = False
  rows, too_large, images = tf.data.Dataset.get_single_element(
      decoded.with_options(options).take(1))
  status = tf.tensor_scatter_nd_update(
      status, rows[:, tf.newaxis],
      tf.where(too_large, _status_code(serving_contract.TOO_LARGE),
               _status_code(serving_contract.OK)))
  keep = tf.logical_not(too_large)
  return status, tf.boolean_mask(rows, keep), tf.boolean_mask(images, keep)


def _logit(p: tf.Tensor) -> tf.Tensor:
  return tf.math.log(p) - tf.math.log1p(-p)


def apply_rule(scores: tf.Tensor, thresholds: tf.Tensor, min_genres: int,
               max_genres: Optional[int], rank_by: str = 'score') -> tf.Tensor:
  """TensorFlow twin of thresholds.apply_rule: int32 0/1 predictions [N, G]."""
  predicted = scores >= thresholds
  if rank_by == 'score':
    evidence = scores
  elif rank_by == 'margin':
    evidence = _logit(scores) - _logit(thresholds)
  else:
    raise ValueError(f'Unknown ranking {rank_by!r}: use one of '
                     f'{", ".join(decision_rule.RANKINGS)}.')
  rank = tf.argsort(tf.argsort(-evidence, axis=1, stable=True), axis=1, stable=True)
  if min_genres:
    predicted = tf.logical_or(predicted, rank < min_genres)
  if max_genres:
    predicted = tf.logical_and(predicted, rank < max_genres)
  return tf.cast(predicted, tf.int32)


EVAL_RECORD_FILE = 'eval_pr_auc.json'
EMBEDDING_KEY_FILE = 'embedding_key.txt'


def eval_record(vocabulary: Sequence[str], labels: np.ndarray,
                scores: np.ndarray) -> Dict[str, object]:
  """The model's AUC-PR per genre on eval (TFMA's arithmetic, at the gate's resolution)."""
  values = pr_auc.auc_pr(*pr_auc.histograms(labels, scores, pr_auc.GATE_THRESHOLDS))
  positives = labels.sum(axis=0)
  return {'split': 'eval', 'posters': int(len(labels)),
          'num_thresholds': pr_auc.GATE_THRESHOLDS,
          'genres': {genre: {'positives': int(n), 'pr_auc': float(value)}
                     for genre, n, value in zip(vocabulary, positives, values)}}


def read_eval_record(model_dir: str) -> Optional[Dict[str, float]]:
  """AUC-PR per genre name that a model exported here recorded on its eval posters; None when
  it records none at the gate's resolution (a model exported before the record existed)."""
  path = os.path.join(model_dir, 'assets', EVAL_RECORD_FILE)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    record = json.load(f)
  if record.get('num_thresholds') != pr_auc.GATE_THRESHOLDS:
    return None
  return {genre: row['pr_auc'] for genre, row in record['genres'].items()}


def read_embedding_key(model_dir: str) -> Optional[str]:
  """The key of the embeddings a model exported here reads through `embedding_tf_example`;
  None for a model without that signature."""
  path = os.path.join(model_dir, 'assets', EMBEDDING_KEY_FILE)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return f.read().strip()


def export_model(model: tf.keras.Model, tft_output: tft.TFTransformOutput,
                 vocabulary: Sequence[str], rule: decision_rule.DecisionRule,
                 export_dir: str, warmup_images: Optional[Sequence[bytes]] = None,
                 record: Optional[Dict[str, object]] = None,
                 head: Optional[tf.keras.Model] = None,
                 embedding_key: Optional[str] = None) -> None:
  """Saves the serving SavedModel; `warmup_images`: a few real posters for TF Serving warmup;
  `record`: its eval_record, written into its assets; `head` (embedding -> scores, the last
  part of `model`) with the `embedding_key` of what it reads: the `embedding_tf_example`
  signature."""
  if (head is None) != (embedding_key is None):
    raise ValueError('A head needs the key of its embeddings, and a key its head.')
  thresholds = rule.thresholds
  if len(thresholds) != len(vocabulary):
    raise ValueError(f'{len(thresholds)} thresholds for {len(vocabulary)} genres.')
  num_genres = len(vocabulary)
  # Tracked on the model so that they are saved with it.
  model.tft_layer = tft_output.transform_features_layer()
  model.genre_names = tf.constant(list(vocabulary), dtype=tf.string)
  model.decision_thresholds = tf.constant(list(thresholds), dtype=tf.float32)

  image_shape = tft_output.transformed_feature_spec()[features.IMAGE_XF].shape

  def transform_one(poster):
    """The Transform graph on one poster's bytes (a scalar)."""
    raw_features = {features.IMAGE: tf.reshape(poster, [1, 1])}
    return model.tft_layer(raw_features)[features.IMAGE_XF][0]

  def outputs_for(scores, decided):
    """The contract's outputs from scores [N, G]; no genre where `decided` [N] is False."""
    batch = tf.shape(scores)[0]
    predicted = apply_rule(scores, model.decision_thresholds, rule.min_genres,
                           rule.max_genres, rule.rank_by)
    return {
        SCORES: scores,
        CLASSES: tf.tile(model.genre_names[tf.newaxis, :], [batch, 1]),
        PREDICTED: predicted * tf.cast(decided, tf.int32)[:, tf.newaxis],
    }

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_INPUT)])
  def serve_image_bytes(image_bytes):
    status, rows, images = guarded_images(image_bytes, transform_one, image_shape)
    batch = tf.shape(image_bytes)[0]
    # The network sees only the decoded posters (none at all when nothing decoded).
    scores = tf.cond(tf.size(rows) > 0, lambda: model(images, training=False),
                     lambda: tf.zeros([0, num_genres], tf.float32))
    scores = tf.scatter_nd(rows[:, tf.newaxis], scores, [batch, num_genres])
    ok = tf.equal(status, _status_code(serving_contract.OK))
    return {**outputs_for(scores, ok),
            STATUS: tf.gather(tf.constant(serving_contract.STATUSES), status)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def serve_tf_examples(serialized):
    parsed = tf.io.parse_example(serialized, data.raw_parse_spec())
    scores = model(model.tft_layer(parsed)[features.IMAGE_XF], training=False)
    return outputs_for(scores, tf.ones([tf.shape(scores)[0]], tf.bool))

  signatures = {SERVING_SIGNATURE: serve_image_bytes,
                TF_EXAMPLE_SIGNATURE: serve_tf_examples}
  if head is not None:
    model.embedding_key = tf.constant(embedding_key)
    embedding_spec = {
        features.EMBEDDING: tf.io.FixedLenFeature([head.input_shape[-1]], tf.float32),
        features.EMBEDDING_KEY: tf.io.FixedLenFeature([], tf.string)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
    def serve_embeddings(serialized):
      parsed = tf.io.parse_example(serialized, embedding_spec)
      # An embedding of another backbone or preprocessing would score silently wrong.
      with tf.control_dependencies([tf.debugging.assert_equal(
          parsed[features.EMBEDDING_KEY], model.embedding_key,
          message='An embedding made with another backbone or preprocessing than this '
                  'model\'s')]):
        scores = head(parsed[features.EMBEDDING], training=False)
      return outputs_for(scores, tf.ones([tf.shape(scores)[0]], tf.bool))

    signatures[EMBEDDING_SIGNATURE] = serve_embeddings

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def transform_features(serialized):
    """The labels TFMA scores against, dense floats. Only the labels: TFMA keeps what this
    returns in every extract, and the model reads the raw examples itself."""
    parsed = tf.io.parse_example(serialized, {
        features.LABELS: data.raw_parse_spec(num_genres)[features.LABELS]})
    return {features.LABELS_XF: tf.cast(parsed[features.LABELS], tf.float32)}

  with tempfile.TemporaryDirectory() as vocabulary_dir:
    # Saving copies the file into the SavedModel's assets/.
    model.genre_vocabulary_file = tf.saved_model.Asset(
        genre_vocabulary.write_vocabulary(vocabulary_dir, vocabulary))
    # Without Keras' per-layer traces: nothing loads this model back as Keras (TF Serving,
    # TFMA and every tool here call its signatures), and tracing every layer's call for
    # that was about 40 % of the export's time.
    model.save(export_dir, save_format='tf', save_traces=False,
               signatures={**signatures, TRANSFORM_SIGNATURE: transform_features})
  if embedding_key is not None:
    with tf.io.gfile.GFile(os.path.join(export_dir, 'assets', EMBEDDING_KEY_FILE), 'w') as f:
      f.write(embedding_key + '\n')
  if record is not None:
    with tf.io.gfile.GFile(os.path.join(export_dir, 'assets', EVAL_RECORD_FILE), 'w') as f:
      json.dump(record, f, indent=2)
  if warmup_images:
    path = warmup.write_warmup_file(export_dir, warmup.build_requests(
        warmup_images, SERVING_SIGNATURE, IMAGE_BYTES_INPUT))
    logging.info('Wrote TF Serving warmup requests from %d posters to %s.',
                 len(warmup_images), path)
  else:
    logging.warning('No warmup posters given: %s has no TF Serving warmup file, so its first '
                    'requests will be slow.', export_dir)
