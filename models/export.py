"""Exports the trained model as one SavedModel with the serving contract.

Signatures:
  serving_default      image_bytes: string [N] raw JPEG/PNG bytes (what TF Serving gets)
                       -> scores float [N, G], classes string [N, G], predicted int32 [N, G]
  serving_tf_example   examples: serialized tf.Example [N] -> the same outputs (for TFMA)
  transform_features   examples: serialized tf.Example [N] -> transformed features, incl.
                       the float multi-hot labels (TFMA's preprocessing function)

The genre names and the decision rule (models/thresholds.py: per-genre thresholds, at least
`min_genres`, at most `max_genres` per poster) are part of the graph, so `predicted` and every
client agree on them. The vocabulary also ships as an asset (`assets/genre_vocabulary.txt`)
for tools that read the model directory, and `assets.extra/tf_serving_warmup_requests`
(models/warmup.py) lets TF Serving warm a version up on real posters before it takes traffic.
"""
import tempfile
from typing import Optional, Sequence

from absl import logging
import tensorflow as tf
import tensorflow_transform as tft

from components.poster_example_gen import features
from components.poster_example_gen import vocabulary as genre_vocabulary
from models import data
from models import thresholds as decision_rule
from models import warmup
# The contract's names, importable without TensorFlow by clients (models/serving_contract.py).
from models.serving_contract import (  # pylint: disable=g-multiple-import
    CLASSES, IMAGE_BYTES_INPUT, PREDICTED, SCORES, SERVING_SIGNATURE, TF_EXAMPLE_SIGNATURE,
    TRANSFORM_SIGNATURE)
import transform_module


def apply_rule(scores: tf.Tensor, thresholds: tf.Tensor, min_genres: int,
               max_genres: Optional[int]) -> tf.Tensor:
  """TensorFlow twin of thresholds.apply_rule: int32 0/1 predictions [N, G]."""
  predicted = scores >= thresholds
  rank = tf.argsort(tf.argsort(-scores, axis=1, stable=True), axis=1, stable=True)
  if min_genres:
    predicted = tf.logical_or(predicted, rank < min_genres)
  if max_genres:
    predicted = tf.logical_and(predicted, rank < max_genres)
  return tf.cast(predicted, tf.int32)


def export_model(model: tf.keras.Model, tft_output: tft.TFTransformOutput,
                 vocabulary: Sequence[str], rule: decision_rule.DecisionRule,
                 export_dir: str, warmup_images: Optional[Sequence[bytes]] = None) -> None:
  """Saves the serving SavedModel; `warmup_images`: a few real posters for TF Serving warmup."""
  thresholds = rule.thresholds
  if len(thresholds) != len(vocabulary):
    raise ValueError(f'{len(thresholds)} thresholds for {len(vocabulary)} genres.')
  num_genres = len(vocabulary)
  # Tracked on the model so that they are saved with it.
  model.tft_layer = tft_output.transform_features_layer()
  model.genre_names = tf.constant(list(vocabulary), dtype=tf.string)
  model.decision_thresholds = tf.constant(list(thresholds), dtype=tf.float32)

  def outputs_for(raw_features):
    images = model.tft_layer(raw_features)[transform_module.IMAGE_XF]
    scores = model(images, training=False)
    batch = tf.shape(scores)[0]
    return {
        SCORES: scores,
        CLASSES: tf.tile(model.genre_names[tf.newaxis, :], [batch, 1]),
        PREDICTED: apply_rule(scores, model.decision_thresholds, rule.min_genres,
                              rule.max_genres),
    }

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_INPUT)])
  def serve_image_bytes(image_bytes):
    return outputs_for({features.IMAGE: tf.reshape(image_bytes, [-1, 1])})

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def serve_tf_examples(serialized):
    return outputs_for(tf.io.parse_example(
        serialized, data.raw_parse_spec(with_labels=False)))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def transform_features(serialized):
    return model.tft_layer(tf.io.parse_example(serialized, data.raw_parse_spec()))

  with tempfile.TemporaryDirectory() as vocabulary_dir:
    # Saving copies the file into the SavedModel's assets/.
    model.genre_vocabulary_file = tf.saved_model.Asset(
        genre_vocabulary.write_vocabulary(vocabulary_dir, vocabulary))
    model.save(export_dir, save_format='tf', signatures={
        SERVING_SIGNATURE: serve_image_bytes,
        TF_EXAMPLE_SIGNATURE: serve_tf_examples,
        TRANSFORM_SIGNATURE: transform_features,
    })
  if warmup_images:
    path = warmup.write_warmup_file(export_dir, warmup.build_requests(
        warmup_images, SERVING_SIGNATURE, IMAGE_BYTES_INPUT))
    logging.info('Wrote TF Serving warmup requests from %d posters to %s.',
                 len(warmup_images), path)
  else:
    logging.warning('No warmup posters given: %s has no TF Serving warmup file, so its first '
                    'requests will be slow.', export_dir)
