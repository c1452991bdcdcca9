"""The Trainer: trains the model `TrainerConfig.model_name` names and exports the serving model.

trainer_module.py is the Trainer's entry point (`run_fn`); the
settings are `models.settings.TrainerConfig`, carried whole in `custom_config`. The genres come
with the data (contract/vocabulary.py), never from the pipeline's definition.

Training data are the raw oversampled examples; the Transform graph is applied on the fly
(models/data.py). Early stopping watches PR-AUC on `eval`; the decision rule is tuned on
`eval` too (never on `test`), with out-of-fold scores of the train posters beside it where
the model is a head on a frozen backbone, and stored in the exported SavedModel
(models/export.py).
"""
import dataclasses
import functools
import json
import os
import time
from typing import Callable, Dict, Optional, Tuple

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs

from contract import vocabulary as genre_vocabulary
import knobs
from models import data
from models import efficientnet_lite
from models import embeddings
from models import export
from models import metrics
from models import settings
from models import simple_cnn
from models import thresholds as decision_rule
from models import training
from models import transfer
from models import warmup


@dataclasses.dataclass(frozen=True)
class TrainingContext:
  """What every model's training function gets from the Trainer."""
  fn_args: FnArgs
  config: settings.TrainerConfig
  tft_output: tft.TFTransformOutput
  num_genres: int

  @property
  def image_shape(self) -> Tuple[int, ...]:
    return data.image_shape(self.tft_output)

  def dataset(self, files, shuffle: bool, keep=None) -> tf.data.Dataset:
    return data.make_dataset(files, self.tft_output, self.num_genres,
                             self.config.batch_size, shuffle=shuffle, keep=keep)


# Folds of the train posters for their out-of-fold scores: each fold's member trains on
# four fifths of them, near enough to the model's own heads for its scores to stand in.
OUT_OF_FOLD_FOLDS = 5


@dataclasses.dataclass(frozen=True)
class Trained:
  """A trained model (images -> scores) and its eval labels and scores [N, G]; on a frozen
  backbone also the head alone (embedding -> scores), the key of the embeddings it reads,
  and the train posters' labels and out-of-fold scores [P, G]."""
  model: tf.keras.Model
  labels: np.ndarray
  scores: np.ndarray
  head: Optional[tf.keras.Model] = None
  embedding_key: Optional[str] = None
  out_of_fold: Optional[Tuple[np.ndarray, np.ndarray]] = None

  def tuning_data(self) -> Tuple[np.ndarray, np.ndarray]:
    """The labels and scores the decision rule is tuned on: eval's, with the train posters'
    out-of-fold ones before them where there are some."""
    if self.out_of_fold is None:
      return self.labels, self.scores
    return (np.concatenate([self.out_of_fold[0], self.labels]),
            np.concatenate([self.out_of_fold[1], self.scores]))


def _predict(model: tf.keras.Model, dataset: tf.data.Dataset) -> Tuple[np.ndarray, np.ndarray]:
  labels, scores = [], []
  for images, batch_labels in dataset:
    scores.append(model(images, training=False).numpy())
    labels.append(batch_labels.numpy())
  return np.concatenate(labels).astype(np.int64), np.concatenate(scores)


def train_end_to_end(context: TrainingContext) -> Trained:
  """The research notebook's way: a CNN trained from scratch on the (oversampled) images."""
  config, fn_args = context.config, context.fn_args
  train = context.dataset(fn_args.train_files, shuffle=True)
  evaluation = context.dataset(fn_args.eval_files, shuffle=False)
  model = simple_cnn.build(context.image_shape, context.num_genres,
                           learning_rate=config.resolved_learning_rate)
  model.summary(print_fn=logging.info)
  model.fit(train, validation_data=evaluation, epochs=config.resolved_epochs, verbose=2,
            callbacks=[training.early_stopping(config.early_stopping_patience),
                       tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir,
                                                      update_freq='epoch')])
  return Trained(model, *_predict(model, evaluation))


def _embed_split(context: TrainingContext, backbone: tf.keras.Model, key: str,
                 files, index: data.PosterIndex, split: str
                 ) -> Tuple[np.ndarray, embeddings.Reuse]:
  """Every poster of a split embedded: the stored entries that can be trusted, the rest
  (none stored, stale, corrupt: models/embeddings.py) by the backbone now."""
  stored, valid, causes = embeddings.cached_embeddings(files, index, key,
                                                       backbone.output_shape[-1])
  reuse = embeddings.Reuse(posters=index.num_posters, reused=int(valid.sum()),
                           recomputed=causes)
  missing = ~valid
  if missing.any():
    count = int(missing.sum())
    # First records of the missing posters, in file order: posters are numbered in order of
    # first appearance, so these come in the order of `stored[missing]`.
    posters = context.dataset(files, shuffle=False,
                              keep=index.first_record & missing[index.record_poster])
    stored[missing] = transfer.embed(backbone, posters,
                                     batches=-(-count // context.config.batch_size),
                                     description=f'Embedding {count} {split} posters')
    reuse.backbone_views = count
  return stored, reuse


def train_on_frozen_backbone(context: TrainingContext, variant: str) -> Trained:
  """An ImageNet EfficientNet-Lite, frozen; a head trained on embeddings computed once; for
  a preset with `fine_tuned_blocks`, then the backbone's top with the head on the posters.

  Every distinct poster is embedded once, or not at all when its examples carry a stored
  embedding that can be trusted (PosterEmbedder); the oversampler's repeats become repeated
  rows of the embedding matrix, so oversampling costs nothing here. What was reused and what
  embedded again is logged and written to `embedding_summary.json` in the model run
  directory.
  """
  config, fn_args = context.config, context.fn_args
  backbone = efficientnet_lite.build_backbone(variant, input_shape=context.image_shape)
  train_index = data.poster_index(fn_args.train_files, context.num_genres)
  eval_index = data.poster_index(fn_args.eval_files, context.num_genres)
  key = embeddings.embedding_key(variant, backbone, context.tft_output)
  started = time.monotonic()
  train_embeddings, train_reuse = _embed_split(
      context, backbone, key, fn_args.train_files, train_index, 'train')
  eval_embeddings, eval_reuse = _embed_split(
      context, backbone, key, fn_args.eval_files, eval_index, 'eval')
  passes = train_reuse.backbone_views + eval_reuse.backbone_views
  seconds = time.monotonic() - started
  logging.info('Embeddings in %.1f s: %d backbone passes; train %s; eval %s.',
               seconds, passes, train_reuse, eval_reuse)
  tf.io.gfile.makedirs(fn_args.model_run_dir)
  with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, embeddings.SUMMARY_FILE),
                         'w') as f:
    json.dump({'train': dataclasses.asdict(train_reuse),
               'eval': dataclasses.asdict(eval_reuse)}, f, indent=2)

  rows = train_index.record_poster
  head_config = transfer.HeadConfig.of(config)
  head = transfer.train_head(
      train_embeddings[rows], train_index.labels[rows],
      eval_embeddings, eval_index.labels, head_config, log_dir=fn_args.model_run_dir)
  model = transfer.compose(backbone, head, name=f'efficientnet_{variant}_genres')
  frozen = Trained(model, eval_index.labels, head(eval_embeddings, training=False).numpy(),
                   head=head, embedding_key=key)
  preset = config.preset
  if preset.fine_tuned_blocks:
    evaluation = context.dataset(fn_args.eval_files, shuffle=False)
    kept = transfer.fine_tune(
        model, backbone, context.dataset(fn_args.train_files, shuffle=True), evaluation,
        transfer.FineTuneConfig(blocks=preset.fine_tuned_blocks,
                                learning_rate=preset.fine_tune_learning_rate,
                                epochs=preset.fine_tune_epochs,
                                early_stopping_patience=config.early_stopping_patience),
        seed=config.seed, log_dir=fn_args.model_run_dir)
    if kept:
      # The backbone is no longer the one the stored embeddings came from: no head signature,
      # and no out-of-fold scores (their heads would score with the frozen backbone).
      return Trained(model, *_predict(model, evaluation))
    logging.warning('Fine-tuning never beat the head alone on eval PR-AUC: the model is the '
                    'frozen backbone and its head.')
  logging.info('Out-of-fold scores of the %d train posters, %d folds.',
               train_index.num_posters, OUT_OF_FOLD_FOLDS)
  out_of_fold = transfer.out_of_fold_scores(
      train_embeddings, train_index.labels, rows, eval_embeddings, eval_index.labels,
      head_config, OUT_OF_FOLD_FOLDS, config.seed)
  return dataclasses.replace(frozen, out_of_fold=(train_index.labels, out_of_fold))


MODELS: Dict[str, Callable[[TrainingContext], Trained]] = {
    name: (train_end_to_end if preset.backbone is None
           else functools.partial(train_on_frozen_backbone, variant=preset.backbone))
    for name, preset in settings.MODEL_PRESETS.items()
}


def run_fn(fn_args: FnArgs) -> None:
  config = knobs.from_custom_config(settings.TrainerConfig, fn_args.custom_config)
  vocabulary = genre_vocabulary.read_vocabulary(
      genre_vocabulary.examples_uri(fn_args.train_files))
  tf.keras.utils.set_random_seed(config.seed)
  context = TrainingContext(fn_args=fn_args, config=config,
                            tft_output=tft.TFTransformOutput(fn_args.transform_graph_path),
                            num_genres=len(vocabulary))
  trained = MODELS[config.model_name](context)
  labels, scores = trained.labels, trained.scores

  if trained.out_of_fold is None:
    policy, tuned_on = decision_rule.EVAL_ONLY_POLICY, 'eval'
  else:
    policy, tuned_on = decision_rule.MODEL_POLICY, 'eval and out-of-fold train scores'
  rule = decision_rule.tune_rule(*trained.tuning_data(), policy, config.min_genres,
                                 config.max_genres)
  logging.info('Decision rule %r tuned on %s: %s; eval macro-F1 %.4f, eval mAP %.4f.',
               policy, tuned_on, rule,
               metrics.macro_f1(labels, rule.apply(scores)),
               float(metrics.average_precision_per_genre(labels, scores).mean()))
  export.export_model(
      trained.model, context.tft_output, vocabulary, rule, fn_args.serving_model_dir,
      warmup_images=warmup.read_example_images(fn_args.eval_files, warmup.NUM_WARMUP_POSTERS),
      record=export.eval_record(vocabulary, labels, scores),
      head=trained.head, embedding_key=trained.embedding_key)
