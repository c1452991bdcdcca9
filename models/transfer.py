"""Transfer learning on a frozen ImageNet backbone: embed once, train a small head, compose.

On a CPU, running the backbone is nearly all the cost of training, and with the backbone
frozen its output never changes: so every distinct poster is embedded once (not once per
epoch, and not once per oversampled copy), and the head trains for many cheap epochs on the
embeddings in memory. The exported model is the backbone and the head composed; it also
exposes the head alone, for callers that hold a poster's embedding already (models/export.py).

An embedding is the backbone's top features, then its pooled block features
(models/efficientnet_lite.py). Each member of the head is a pair: one head on the top
features alone, one on them with the block features standardized (their scale is far from
the top features'). Heads on the block features alone rank better but name rare genres no
better than heads on the top features; the pairs' average does both (BENCHMARKS.md, "Rare
genres in the answers" and "What did not help").
"""
import dataclasses
import functools
import os
from typing import Any, Iterable, Iterator, Optional, Tuple

import numpy as np
import tensorflow as tf

from models import efficientnet_lite
from models import progress
from models import training
from models.settings import TrainerConfig


@dataclasses.dataclass(frozen=True)
class HeadConfig:
  """How the genre head trains on embeddings; `of` takes it from the Trainer's settings."""
  hidden_units: int
  dropout: float
  learning_rate: float
  epochs: int
  early_stopping_patience: int
  members: int = 1
  # How many leading columns of an embedding are the backbone's top features, the rest its
  # pooled block features: each member is then a pair of heads (the module docstring).
  # None: every member is one head on all the columns.
  top_features: Optional[int] = None
  # Embeddings are small: a larger batch than the backbone's steadies the head's steps.
  batch_size: int = 128

  @classmethod
  def of(cls, config: TrainerConfig) -> 'HeadConfig':
    return cls(hidden_units=config.head_hidden_units, dropout=config.head_dropout,
               learning_rate=config.resolved_learning_rate, epochs=config.resolved_epochs,
               early_stopping_patience=config.head_early_stopping_patience,
               members=config.head_members,
               top_features=(efficientnet_lite.TOP_FEATURES if config.frozen_backbone
                             else None))


def embed_batches(backbone: tf.keras.Model, images: Iterable[Any],
                  description: str = 'Embedding', batches: Optional[int] = None
                  ) -> Iterator[np.ndarray]:
  """Per batch of `images` (image batches, or (image batch, labels)), the backbone outputs
  [B, D]. `batches`, when known, sizes the progress bar."""
  forward = _forward(backbone)
  full = None
  with progress.bar(description, batches, 'batch') as bar:
    for element in images:
      batch = element[0] if isinstance(element, tuple) else element
      size = int(batch.shape[0])
      full = full or size
      if size < full:
        # The last, partial batch is padded to the others' size: a new shape would cost a
        # new trace and new oneDNN kernels (seconds) for a handful of posters.
        batch = tf.pad(batch, [[0, full - size]] + [[0, 0]] * (batch.shape.rank - 1))
      yield forward(batch).numpy()[:size]
      progress.advance(bar)


# The backbone's inference pass, traced once and shared by every call on the same backbone:
# a new tf.function traces it anew (about 2 s), which PosterEmbedder paid once per split. One
# entry: a process embeds with one backbone at a time.
@functools.lru_cache(maxsize=1)
def _forward(backbone: tf.keras.Model):
  @tf.function(reduce_retracing=True)
  def forward(batch):
    return backbone(batch, training=False)
  return forward


def embed(backbone: tf.keras.Model, images: tf.data.Dataset, description: str = 'Embedding',
          batches: Optional[int] = None) -> np.ndarray:
  """All of `embed_batches`' outputs: [N, D]."""
  return np.concatenate(list(embed_batches(backbone, images, description, batches)))


def build_head(embedding_size: int, num_genres: int, config: HeadConfig,
               name: str = 'genre_head',
               block_moments: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> tf.keras.Model:
  """A head on embeddings [N, embedding_size]. With `config.top_features`: on the top
  features alone, or with `block_moments` (mean, variance of the block features on the
  training rows) on all of them, the block features standardized."""
  inputs = tf.keras.Input(shape=(embedding_size,), name='embedding')
  x = inputs
  top = config.top_features
  if top is not None:
    if embedding_size <= top:
      raise ValueError(f'An embedding of {embedding_size} features has no pooled block '
                       f'features after its {top} top features.')
    x = inputs[:, :top]
    if block_moments is not None:
      blocks = tf.keras.layers.Normalization(mean=block_moments[0], variance=block_moments[1],
                                             name='block_standardized')(inputs[:, top:])
      x = tf.keras.layers.Concatenate(name='features')([x, blocks])
  x = tf.keras.layers.Dropout(config.dropout / 2, name='head_input_dropout')(x)
  x = tf.keras.layers.Dense(config.hidden_units, activation='relu', name='head_hidden')(x)
  x = tf.keras.layers.Dropout(config.dropout, name='head_dropout')(x)
  outputs = tf.keras.layers.Dense(num_genres, activation='sigmoid', name='scores')(x)
  return tf.keras.Model(inputs, outputs, name=name)


def train_head(train_embeddings: np.ndarray, train_labels: np.ndarray,
               eval_embeddings: np.ndarray, eval_labels: np.ndarray, config: HeadConfig,
               log_dir: Optional[str] = None, description: str = 'genre head'
               ) -> tf.keras.Model:
  """Trains `config.members` members (each one head, or with `config.top_features` a pair)
  one head after the other, each from its own initialisation and with early stopping on
  eval macro PR-AUC (best weights restored); one head is returned as it is, several as one
  model that averages their scores."""
  views = [None]
  if config.top_features is not None:
    blocks = train_embeddings[:, config.top_features:]
    views.append((blocks.mean(axis=0), blocks.var(axis=0)))
  specs = [(f'genre_head_{member}' + (f'_{view}' if len(views) > 1 else ''), moments)
           for member in range(config.members) for view, moments in enumerate(views)]
  if len(specs) == 1:
    return _train_one_head(train_embeddings, train_labels, eval_embeddings, eval_labels,
                           config, 'genre_head', None, f'Training the {description}', log_dir)
  heads = [_train_one_head(train_embeddings, train_labels, eval_embeddings, eval_labels,
                           config, name, moments,
                           f'Training {description} {index + 1} of {len(specs)}',
                           log_dir and os.path.join(log_dir, name))
           for index, (name, moments) in enumerate(specs)]
  inputs = tf.keras.Input(shape=(train_embeddings.shape[-1],), name='embedding')
  outputs = tf.keras.layers.Average(name='scores')([head(inputs) for head in heads])
  return tf.keras.Model(inputs, outputs, name='genre_heads')


def _train_one_head(train_embeddings: np.ndarray, train_labels: np.ndarray,
                    eval_embeddings: np.ndarray, eval_labels: np.ndarray, config: HeadConfig,
                    name: str, block_moments: Optional[Tuple[np.ndarray, np.ndarray]],
                    description: str, log_dir: Optional[str]) -> tf.keras.Model:
  num_genres = train_labels.shape[1]
  head = build_head(train_embeddings.shape[-1], num_genres, config, name=name,
                    block_moments=block_moments)
  head.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
               loss=tf.keras.losses.BinaryCrossentropy(),
               metrics=[training.pr_auc_metric(num_genres)])
  callbacks = [_EvalAUC(eval_embeddings, eval_labels),
               training.early_stopping(config.early_stopping_patience),
               training.ProgressBar(description, config.epochs)]
  if log_dir:
    callbacks.append(tf.keras.callbacks.TensorBoard(log_dir=log_dir, update_freq='epoch'))
  head.fit(train_embeddings, train_labels.astype(np.float32), batch_size=config.batch_size,
           epochs=config.epochs, shuffle=True, callbacks=callbacks, verbose=2)
  return head


def out_of_fold_scores(embeddings: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                       eval_embeddings: np.ndarray, eval_labels: np.ndarray,
                       config: HeadConfig, folds: int, seed: int) -> np.ndarray:
  """Every train poster's scores [P, G] from one member trained without it: the posters
  ([P, D] `embeddings`, [P, G] `labels`) fall into `folds` folds at random, and each fold is
  scored by a member trained on the training `rows` (poster indices, the oversampler's
  copies repeated) of the other folds: scores of posters no head has seen, to tune the
  decision rule on beside `eval` (models/thresholds.py)."""
  fold = np.random.default_rng(seed).integers(0, folds, len(labels))
  single = dataclasses.replace(config, members=1)
  scores = np.zeros(labels.shape, np.float32)
  for held_out in range(folds):
    kept = rows[fold[rows] != held_out]
    member = train_head(embeddings[kept], labels[kept], eval_embeddings, eval_labels, single,
                        description=f'fold {held_out + 1} of {folds}\'s out-of-fold head')
    scores[fold == held_out] = member(embeddings[fold == held_out], training=False).numpy()
  return scores


class _EvalAUC(tf.keras.callbacks.Callback):
  """Logs `val_pr_auc`: eval macro PR-AUC of the head's scores, for early stopping.

  One metric and one traced function for the whole fit: a new Keras AUC each epoch was
  traced anew each epoch, about a third of the head's training time.
  """

  def __init__(self, eval_embeddings: np.ndarray, eval_labels: np.ndarray):
    super().__init__()
    self._embeddings = tf.constant(eval_embeddings)
    self._labels = tf.constant(eval_labels, tf.float32)
    self._metric = training.pr_auc_metric(eval_labels.shape[1])
    self._score = None

  def on_train_begin(self, logs=None):
    model, metric = self.model, self._metric

    @tf.function
    def score(embeddings, labels):
      metric.reset_state()
      metric.update_state(labels, model(embeddings, training=False))
      return metric.result()

    self._score = score

  def on_epoch_end(self, epoch, logs=None):
    value = float(self._score(self._embeddings, self._labels))
    if logs is not None:
      logs[f'val_{training.PR_AUC}'] = value


def compose(backbone: tf.keras.Model, head: tf.keras.Model, name: str) -> tf.keras.Model:
  """images -> scores: the backbone, then the head."""
  images = tf.keras.Input(shape=backbone.input_shape[1:], name='image')
  return tf.keras.Model(images, head(backbone(images)), name=name)


# --- Fine-tuning the backbone's top ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FineTuneConfig:
  """How the composed model trains end to end on posters after its head (ModelPreset)."""
  blocks: int  # the backbone's top MBConv blocks trained, with its head conv
  learning_rate: float
  epochs: int
  early_stopping_patience: int
  # Scale jitter of the augmentation: each poster is cropped to a random box of at least this
  # share of its side, then resized back.
  min_crop: float = 0.85


def unfreeze_top(backbone: tf.keras.Model, blocks: int) -> None:
  """Makes the backbone's last `blocks` MBConv blocks and its head conv trainable, the rest
  frozen.

  Batch norms stay frozen (Keras 2 then runs them in inference mode): a few thousand
  posters in batches of 32 would pull ImageNet's statistics toward noise.
  """
  names = sorted({layer.name.split('_', 1)[0] for layer in backbone.layers
                  if layer.name.startswith('block')}, key=lambda name: int(name[5:]))
  if not 0 < blocks <= len(names):
    raise ValueError(f'Cannot fine-tune {blocks} blocks of {backbone.name}: it has '
                     f'{len(names)}.')
  trained = tuple(f'{name}_' for name in names[-blocks:]) + ('head_',)
  backbone.trainable = True
  for layer in backbone.layers:
    layer.trainable = (layer.name.startswith(trained)
                       and not isinstance(layer, tf.keras.layers.BatchNormalization))


def augmented(images: tf.data.Dataset, min_crop: float, seed: int) -> tf.data.Dataset:
  """(images, labels) batches with each poster mirrored at random and cropped to a random
  box of at least `min_crop` of each side, resized back to the input size: an oversampled
  poster's copies are then different views, not the same pixels."""
  generator = tf.random.Generator.from_seed(seed)

  def augment(batch, labels):
    size = tf.shape(batch)[0]
    batch = tf.where(generator.uniform([size, 1, 1, 1]) < 0.5,
                     tf.image.flip_left_right(batch), batch)
    side = generator.uniform([size, 2], min_crop, 1.0)
    corner = generator.uniform([size, 2]) * (1.0 - side)
    boxes = tf.concat([corner, corner + side], axis=1)
    crops = tf.image.crop_and_resize(batch, boxes, tf.range(size), tf.shape(batch)[1:3])
    return crops, labels

  return images.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def fine_tune(model: tf.keras.Model, backbone: tf.keras.Model, train: tf.data.Dataset,
              evaluation: tf.data.Dataset, config: FineTuneConfig, seed: int,
              log_dir: Optional[str] = None) -> bool:
  """Trains `model` (`backbone` then its head) end to end on augmented posters, the
  backbone's top `config.blocks` blocks with it; early stopping on eval macro PR-AUC.

  Returns whether fine-tuning is kept: if no epoch beats the eval PR-AUC the model had
  before, its weights go back to those.
  """
  unfreeze_top(backbone, config.blocks)
  # After the trainable flags: compiling is when Keras reads them.
  model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
                loss=tf.keras.losses.BinaryCrossentropy(),
                metrics=[training.pr_auc_metric(model.output_shape[-1])])
  before = model.evaluate(evaluation, verbose=0, return_dict=True)[training.PR_AUC]
  weights = model.get_weights()
  callbacks = [training.early_stopping(config.early_stopping_patience),
               training.ProgressBar('Fine-tuning the backbone\'s top', config.epochs)]
  if log_dir:
    callbacks.append(tf.keras.callbacks.TensorBoard(log_dir=log_dir, update_freq='epoch'))
  history = model.fit(augmented(train, config.min_crop, seed), validation_data=evaluation,
                      epochs=config.epochs, callbacks=callbacks, verbose=2)
  best = max(history.history[f'val_{training.PR_AUC}'])
  kept = best > before
  if not kept:
    model.set_weights(weights)
  return kept
