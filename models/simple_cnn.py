"""`simple_cnn`: the research notebook's CNN, kept as the honest baseline.

Three conv blocks (conv, batch norm, max-pool, dropout), then dense layers with batch norm
and dropout, and one sigmoid output per genre (multi-label), trained with binary
cross-entropy.
"""
from typing import Sequence

import tensorflow as tf

from models import training


def build(input_shape: Sequence[int], num_genres: int, learning_rate: float,
          dropout: float = 0.3) -> tf.keras.Model:
  inputs = tf.keras.Input(shape=tuple(input_shape), name='image')
  x = inputs
  for filters in (32, 64, 128):
    x = tf.keras.layers.Conv2D(filters, 3, padding='same', activation='relu')(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.MaxPooling2D(2)(x)
    x = tf.keras.layers.Dropout(dropout)(x)
  x = tf.keras.layers.Flatten()(x)
  for units in (128, 64):
    x = tf.keras.layers.Dense(units, activation='relu')(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.Dropout(dropout)(x)
  outputs = tf.keras.layers.Dense(num_genres, activation='sigmoid', name='scores')(x)
  model = tf.keras.Model(inputs, outputs, name='simple_cnn')
  model.compile(
      optimizer=tf.keras.optimizers.Adam(learning_rate),
      loss=tf.keras.losses.BinaryCrossentropy(),
      metrics=[training.pr_auc_metric(num_genres)])
  return model
