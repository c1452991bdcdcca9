"""Transfer learning on a frozen ImageNet backbone: embed once, train a small head, compose.

On a CPU, running the backbone is nearly all the cost of training, and with the backbone
frozen its output never changes: so every distinct poster is embedded once (not once per
epoch, and not once per oversampled copy), and the head trains for many cheap epochs on the
embeddings in memory. The exported model is the backbone and the head composed; it also
exposes the head alone, for callers that hold a poster's embedding already (models/export.py).
"""
import dataclasses
import functools
from typing import Any, Iterable, Iterator, Optional

import numpy as np
import tensorflow as tf

from models import losses
from models import progress
from models import training
from models.settings import TrainerConfig


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
  """Trains the head; early stopping on eval macro PR-AUC, best weights restored."""
  num_genres = train_labels.shape[1]
  head = build_head(train_embeddings.shape[-1], num_genres, config)
  head.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
               loss=losses.make_loss(config.loss, train_labels),
               metrics=[training.pr_auc_metric(num_genres)])
  callbacks = [_EvalAUC(eval_embeddings, eval_labels),
               training.early_stopping(config.early_stopping_patience),
               training.ProgressBar('Training the genre head', config.epochs)]
  if log_dir:
    callbacks.append(tf.keras.callbacks.TensorBoard(log_dir=log_dir, update_freq='epoch'))
  head.fit(train_embeddings, train_labels.astype(np.float32), batch_size=config.batch_size,
           epochs=config.epochs, shuffle=True, callbacks=callbacks, verbose=2)
  return head


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
