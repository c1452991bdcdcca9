"""Transfer learning on a frozen ImageNet backbone: embed once, train a small head, compose.

On a CPU, running the backbone is nearly all the cost of training, and with the backbone
frozen its output never changes: so every distinct poster is embedded once per run (not once
per epoch, and not once per oversampled copy), and the head trains for many cheap epochs on
the embeddings in memory. Horizontal flips are the one augmentation that suits posters (text
mirrors, but composition, colour and faces do not change genre): each poster's mirrored
embedding is a second training example, and the exported model can average the scores of a
poster and its mirror image (test-time augmentation).

Optionally the top blocks are then unfrozen and fine-tuned end to end on images — worthwhile
on a GPU, slow on a CPU.
"""
import dataclasses
from typing import Any, Callable, Iterable, Iterator, Optional, Tuple

import numpy as np
import tensorflow as tf

from models import losses
from models import progress
from models import training
from models.config import TrainerConfig


@dataclasses.dataclass(frozen=True)
class HeadConfig:
  """How the genre head trains on embeddings; `of` takes it from the Trainer's settings."""
  hidden_units: int  # 0: a linear (logistic-regression) head
  dropout: float
  learning_rate: float
  epochs: int
  early_stopping_patience: int
  loss: str
  # Embeddings are small: a larger batch than the backbone's steadies the head's steps.
  batch_size: int = 128

  @classmethod
  def of(cls, config: TrainerConfig) -> 'HeadConfig':
    return cls(hidden_units=config.head_hidden_units, dropout=config.head_dropout,
               learning_rate=config.resolved_learning_rate, epochs=config.resolved_epochs,
               early_stopping_patience=config.head_early_stopping_patience, loss=config.loss)


def embed_batches(backbone: tf.keras.Model, images: Iterable[Any], with_mirror: bool = False,
                  description: str = 'Embedding', batches: Optional[int] = None
                  ) -> Iterator[Tuple[np.ndarray, Optional[np.ndarray]]]:
  """Per batch of `images` (image batches, or (image batch, labels)), the backbone outputs
  [B, D] and, with `with_mirror`, those of every poster's mirror image (else None).

  The mirror image is flipped from the decoded poster in the same batch, so a poster is
  decoded once for both views, and the backbone sees them as one batch of twice the size.
  `batches`, when known, sizes the progress bar.
  """
  @tf.function(reduce_retracing=True)
  def forward(batch):
    if not with_mirror:
      return backbone(batch, training=False)
    both = backbone(tf.concat([batch, tf.image.flip_left_right(batch)], axis=0),
                    training=False)
    return tf.stack(tf.split(both, 2), axis=0)

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
      output = forward(batch).numpy()
      yield (output[0, :size], output[1, :size]) if with_mirror else (output[:size], None)
      progress.advance(bar)


def embed(backbone: tf.keras.Model, images: tf.data.Dataset, with_mirror: bool = False,
          description: str = 'Embedding', batches: Optional[int] = None
          ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
  """All of `embed_batches`' outputs: [N, D], and [N, D] or None."""
  outputs = list(embed_batches(backbone, images, with_mirror, description, batches))
  mirrored = np.concatenate([o[1] for o in outputs]) if with_mirror else None
  return np.concatenate([o[0] for o in outputs]), mirrored


def build_head(embedding_size: int, num_genres: int, config: HeadConfig) -> tf.keras.Model:
  inputs = tf.keras.Input(shape=(embedding_size,), name='embedding')
  x = tf.keras.layers.Dropout(config.dropout / 2, name='head_input_dropout')(inputs)
  if config.hidden_units:
    x = tf.keras.layers.Dense(config.hidden_units, activation='relu', name='head_hidden')(x)
    x = tf.keras.layers.Dropout(config.dropout, name='head_dropout')(x)
  outputs = tf.keras.layers.Dense(num_genres, activation='sigmoid', name='scores')(x)
  return tf.keras.Model(inputs, outputs, name='genre_head')


def train_head(train_embeddings: np.ndarray, train_labels: np.ndarray,
               eval_embeddings: np.ndarray, eval_labels: np.ndarray, config: HeadConfig,
               log_dir: Optional[str] = None) -> tf.keras.Model:
  """Trains the head; early stopping on eval macro PR-AUC, best weights restored.

  `eval_embeddings` may hold several views of the eval posters ([V, N, D]); the head is then
  judged on its mean score over the views, as the exported model would score them.
  """
  num_genres = train_labels.shape[1]
  head = build_head(train_embeddings.shape[-1], num_genres, config)
  head.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
               loss=losses.make_loss(config.loss, train_labels),
               metrics=[training.pr_auc_metric(num_genres)])
  callbacks = [_ViewAveragedEvalAUC(eval_embeddings, eval_labels),
               training.early_stopping(config.early_stopping_patience),
               training.ProgressBar('Training the genre head', config.epochs)]
  if log_dir:
    callbacks.append(tf.keras.callbacks.TensorBoard(log_dir=log_dir, update_freq='epoch'))
  head.fit(train_embeddings, train_labels.astype(np.float32), batch_size=config.batch_size,
           epochs=config.epochs, shuffle=True, callbacks=callbacks, verbose=2)
  return head


class _ViewAveragedEvalAUC(tf.keras.callbacks.Callback):
  """Logs `val_pr_auc`: eval macro PR-AUC of the view-averaged scores, for early stopping."""

  def __init__(self, eval_views: np.ndarray, eval_labels: np.ndarray):
    super().__init__()
    self._views = eval_views if eval_views.ndim == 3 else eval_views[np.newaxis]
    self._labels = eval_labels.astype(np.float32)

  def on_epoch_end(self, epoch, logs=None):
    scores = predict_views(self.model, self._views)
    metric = training.pr_auc_metric(self._labels.shape[1])
    metric.update_state(self._labels, scores)
    if logs is not None:
      logs[f'val_{training.PR_AUC}'] = float(metric.result())


def predict_views(head: tf.keras.Model, views: np.ndarray) -> np.ndarray:
  """Mean head score over views [V, N, D] (or one view [N, D])."""
  views = views if views.ndim == 3 else views[np.newaxis]
  return np.mean([head(view, training=False).numpy() for view in views], axis=0)


def compose(backbone: tf.keras.Model, head: tf.keras.Model, flip_at_serving: bool,
            name: str) -> tf.keras.Model:
  """images -> scores: backbone then head, averaging with the mirror image if asked."""
  images = tf.keras.Input(shape=backbone.input_shape[1:], name='image')
  scores = head(backbone(images))
  if flip_at_serving:
    mirrored = tf.keras.layers.Lambda(tf.image.flip_left_right, name='mirror')(images)
    scores = tf.keras.layers.Average(name='flip_average')([scores, head(backbone(mirrored))])
  return tf.keras.Model(images, scores, name=name)


def unfreeze_top(backbone: tf.keras.Model, num_blocks: int) -> None:
  """Makes the last `num_blocks` MBConv blocks and the head conv trainable (BN stays frozen:
  batch statistics of small fine-tuning batches would wreck ImageNet's)."""
  block_ids = sorted({int(layer.name.split('_')[0][len('block'):])
                      for layer in backbone.layers if layer.name.startswith('block')})
  trainable_blocks = {f'block{i}_' for i in block_ids[-num_blocks:]} if num_blocks else set()
  backbone.trainable = True
  for layer in backbone.layers:
    top = layer.name.startswith('head_') or any(layer.name.startswith(b)
                                                  for b in trainable_blocks)
    layer.trainable = top and not isinstance(layer, tf.keras.layers.BatchNormalization)


def fine_tune(model: tf.keras.Model, train: tf.data.Dataset, evaluation: tf.data.Dataset,
              epochs: int, learning_rate: float, loss: Callable, num_genres: int,
              early_stopping_patience: int) -> None:
  """End-to-end training of whatever `unfreeze_top` left trainable, on images."""
  model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=loss,
                metrics=[training.pr_auc_metric(num_genres)])
  model.fit(train, validation_data=evaluation, epochs=epochs, verbose=2,
            callbacks=[training.early_stopping(early_stopping_patience)])


def training_views(embeddings: np.ndarray, mirrored: Optional[np.ndarray],
                   labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """Stacks each poster's mirrored embedding as an extra training example."""
  if mirrored is None:
    return embeddings, labels
  return np.concatenate([embeddings, mirrored]), np.concatenate([labels, labels])
