"""The Trainer: trains the model `TrainerConfig.model_name` names and exports the serving model.

trainer_module.py is the Trainer's entry point (`run_fn`); the
settings are `models.config.TrainerConfig`, carried whole in `custom_config`. The genres come
with the data (contract/vocabulary.py), never from the pipeline's definition.

Training data are the raw oversampled examples; the Transform graph is applied on the fly
(models/data.py). Early stopping watches PR-AUC on `eval`; the decision rule is tuned on
`eval` too (never on `test`) and stored in the exported SavedModel (models/export.py).
"""
import dataclasses
import functools
import time
from typing import Callable, Dict, Tuple

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs

from contract import features
from contract import vocabulary as genre_vocabulary
from models import config as settings
from models import data
from models import efficientnet_lite
from models import export
from models import losses
from models import metrics
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
    spec = self.tft_output.transformed_feature_spec()[features.IMAGE_XF]
    return tuple(spec.shape)

  def dataset(self, files, shuffle: bool, keep=None) -> tf.data.Dataset:
    return data.make_dataset(files, self.tft_output, self.num_genres,
                             self.config.batch_size, shuffle=shuffle, keep=keep)


# (trained model: images -> scores, eval labels [N, G], the model's eval scores [N, G])
Trained = Tuple[tf.keras.Model, np.ndarray, np.ndarray]


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
  labels, scores = _predict(model, evaluation)
  return model, labels, scores


def train_on_frozen_backbone(context: TrainingContext, variant: str) -> Trained:
  """An ImageNet EfficientNet-Lite, frozen; a head trained on embeddings computed once.

  Every distinct poster is embedded once (twice with flips); the oversampler's repeats
  become repeated rows of the embedding matrix, so oversampling costs nothing here.
  """
  config, fn_args = context.config, context.fn_args
  flip = config.flip
  backbone = efficientnet_lite.build_backbone(variant, input_shape=context.image_shape)
  train_index = data.poster_index(fn_args.train_files, context.num_genres)
  eval_index = data.poster_index(fn_args.eval_files, context.num_genres)
  train_posters = context.dataset(fn_args.train_files, shuffle=False,
                                  keep=train_index.first_record)
  eval_posters = context.dataset(fn_args.eval_files, shuffle=False,
                                 keep=eval_index.first_record)
  logging.info('Embedding %d train and %d eval posters with EfficientNet-%s.',
               train_index.num_posters, eval_index.num_posters, variant)

  def embed(posters, index, split, with_mirror):
    batches = -(-index.num_posters // config.batch_size)
    views = ' and their mirror images' if with_mirror else ''
    return transfer.embed(backbone, posters, with_mirror=with_mirror, batches=batches,
                          description=f'Embedding {index.num_posters} {split} posters{views}')

  started = time.monotonic()
  train_embeddings, mirrored = embed(train_posters, train_index, 'train', flip != 'none')
  train_embeddings, train_labels = transfer.training_views(
      train_embeddings[train_index.record_poster],
      None if mirrored is None else mirrored[train_index.record_poster],
      train_index.labels[train_index.record_poster])
  eval_views = [view for view in embed(eval_posters, eval_index, 'eval',
                                       flip == 'train_and_serve') if view is not None]
  train_views = 1 if mirrored is None else 2
  views = train_index.num_posters * train_views + eval_index.num_posters * len(eval_views)
  seconds = time.monotonic() - started
  logging.info('Embedded %d poster views in %.1f s: %.1f views/s.', views, seconds,
               views / seconds)
  eval_views = np.stack(eval_views)

  head_config = transfer.HeadConfig.of(config)
  head = transfer.train_head(train_embeddings, train_labels, eval_views, eval_index.labels,
                             head_config, log_dir=fn_args.model_run_dir)
  model = transfer.compose(backbone, head, flip_at_serving=flip == 'train_and_serve',
                           name=f'efficientnet_{variant}_genres')
  scores = transfer.predict_views(head, eval_views)

  top_blocks = config.unfreeze_top_blocks
  if top_blocks:
    transfer.unfreeze_top(backbone, top_blocks)
    evaluation = context.dataset(fn_args.eval_files, shuffle=False)
    transfer.fine_tune(
        model, context.dataset(fn_args.train_files, shuffle=True), evaluation,
        epochs=config.fine_tune_epochs, learning_rate=config.fine_tune_learning_rate,
        loss=losses.make_loss(config.loss, train_labels), num_genres=context.num_genres,
        early_stopping_patience=config.early_stopping_patience)
    return (model, *_predict(model, evaluation))
  return model, eval_index.labels, scores


# Models on a frozen ImageNet backbone: model name -> EfficientNet-Lite variant.
BACKBONE_VARIANTS = {'efficientnet_lite0': 'lite0', 'efficientnet_lite2': 'lite2'}
MODELS: Dict[str, Callable[[TrainingContext], Trained]] = {
    'simple_cnn': train_end_to_end,
    **{name: functools.partial(train_on_frozen_backbone, variant=variant)
       for name, variant in BACKBONE_VARIANTS.items()},
}


def run_fn(fn_args: FnArgs) -> None:
  config = settings.from_custom_config(settings.TrainerConfig, fn_args.custom_config)
  vocabulary = genre_vocabulary.read_vocabulary(
      genre_vocabulary.examples_uri(fn_args.train_files))
  tf.keras.utils.set_random_seed(config.seed)
  context = TrainingContext(fn_args=fn_args, config=config,
                            tft_output=tft.TFTransformOutput(fn_args.transform_graph_path),
                            num_genres=len(vocabulary))
  model, labels, scores = MODELS[config.model_name](context)

  rule = decision_rule.tune_rule(labels, scores, config.threshold_policy, config.min_genres,
                                 config.max_genres)
  logging.info('Decision rule tuned on eval: %s; eval macro-F1 %.4f, eval mAP %.4f.', rule,
               metrics.macro_f1(labels, rule.apply(scores)),
               float(metrics.average_precision_per_genre(labels, scores).mean()))
  export.export_model(
      model, context.tft_output, vocabulary, rule, fn_args.serving_model_dir,
      warmup_images=warmup.read_example_images(fn_args.eval_files, warmup.NUM_WARMUP_POSTERS))
