"""Exports the trained model as one SavedModel with the serving contract.

Signatures:
  serving_default      image_bytes: string [N] raw JPEG/PNG bytes (what TF Serving gets)
                       -> scores float [N, G], classes string [N, G], predicted int32 [N, G]
  serving_tf_example   examples: serialized tf.Example [N] -> the same outputs (for TFMA)
  transform_features   examples: serialized tf.Example [N] -> transformed features, incl.
                       the float multi-hot labels (TFMA's preprocessing function)

The genre names and the decision thresholds are part of the graph, so `predicted` and every
client agree on them.
"""
from typing import Sequence

import tensorflow as tf
import tensorflow_transform as tft

from components.poster_example_gen import features
from models import data
import transform_module

SERVING_SIGNATURE = 'serving_default'
TF_EXAMPLE_SIGNATURE = 'serving_tf_example'
TRANSFORM_SIGNATURE = 'transform_features'
IMAGE_BYTES_INPUT = 'image_bytes'
SCORES, CLASSES, PREDICTED = 'scores', 'classes', 'predicted'


def export_model(model: tf.keras.Model, tft_output: tft.TFTransformOutput,
                 vocabulary: Sequence[str], thresholds: Sequence[float],
                 export_dir: str) -> None:
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
        PREDICTED: tf.cast(scores >= model.decision_thresholds, tf.int32),
    }

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_INPUT)])
  def serve_image_bytes(image_bytes):
    return outputs_for({features.IMAGE: tf.reshape(image_bytes, [-1, 1])})

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def serve_tf_examples(serialized):
    return outputs_for(tf.io.parse_example(
        serialized, data.raw_parse_spec(num_genres, with_labels=False)))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def transform_features(serialized):
    return model.tft_layer(tf.io.parse_example(serialized, data.raw_parse_spec(num_genres)))

  model.save(export_dir, save_format='tf', signatures={
      SERVING_SIGNATURE: serve_image_bytes,
      TF_EXAMPLE_SIGNATURE: serve_tf_examples,
      TRANSFORM_SIGNATURE: transform_features,
  })
