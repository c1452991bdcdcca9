"""A Trainer whose model has lost one genre: that genre's score is replaced by noise.

The push-gate tests train it as the candidate that must be refused (the pipeline config's
`run_fn='tests.sabotaged_trainer.run_fn'`). It wraps the real trainer's run_fn: the model
trains as usual, then its SABOTAGED_GENRE output (of the whole model and of the head alone,
which the Evaluators score on the stored embeddings, and the eval scores its decision rule is
tuned on) become uniform noise, so every other genre is exactly as good as before and only
one genre's AUC-PR collapses to its chance level.
"""
import dataclasses

import numpy as np
import tensorflow as tf

from contract import vocabulary as genre_vocabulary
from models import trainer
from tests import synthetic

# The rarest genre the gate judges on the learnable posters: the one whose loss the macro
# average hides.
SABOTAGED_GENRE = synthetic.LEARNABLE_RARE_GENRE


def _noise_in_one_genre(scores: tf.Tensor, genre: int, num_genres: int) -> tf.Tensor:
  mask = tf.one_hot(genre, num_genres)
  return scores * (1.0 - mask) + tf.random.uniform(tf.shape(scores)) * mask


def _with_noise(model: tf.keras.Model, genre: int, num_genres: int) -> tf.keras.Model:
  inputs = tf.keras.Input(shape=model.input_shape[1:])
  noisy = tf.keras.layers.Lambda(_noise_in_one_genre, name='noise', arguments={
      'genre': genre, 'num_genres': num_genres})(model(inputs))
  return tf.keras.Model(inputs, noisy, name=f'{model.name}_without_{SABOTAGED_GENRE}')


def run_fn(fn_args) -> None:
  genres = genre_vocabulary.read_vocabulary(genre_vocabulary.examples_uri(fn_args.train_files))
  genre = genres.index(SABOTAGED_GENRE)
  name = fn_args.custom_config['model_name']
  train = trainer.MODELS[name]

  def sabotaged(context):
    trained = train(context)
    scores = trained.scores.copy()
    scores[:, genre] = np.random.default_rng(0).random(len(scores))
    return dataclasses.replace(
        trained, model=_with_noise(trained.model, genre, len(genres)), scores=scores,
        head=None if trained.head is None else _with_noise(trained.head, genre, len(genres)))

  trainer.MODELS[name] = sabotaged
  try:
    trainer.run_fn(fn_args)
  finally:
    trainer.MODELS[name] = train
