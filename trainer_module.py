"""TFX Trainer module: trains the model named in `custom_config` and exports the serving model.

`custom_config` (built by pipeline/configs.py):
  model_name: which architecture (see MODELS).
  num_genres: vocabulary size the pipeline was built for (the Evaluator's per-genre metrics
    use it); checked against the vocabulary that came with the data.
  epochs, batch_size, learning_rate, early_stopping_patience: training.
  threshold_policy, min_genres, max_genres: the decision rule (models/thresholds.py).

Training data are the raw oversampled examples; the Transform graph is applied on the fly
(models/data.py). Early stopping watches PR-AUC on `eval`; the decision rule is tuned on
`eval` too (never on `test`) and stored in the exported SavedModel (models/export.py).
"""
from typing import Callable, Dict

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs

from components.poster_example_gen import vocabulary as genre_vocabulary
from models import data
from models import export
from models import metrics
from models import simple_cnn
from models import thresholds as decision_rule

MODELS: Dict[str, Callable[..., tf.keras.Model]] = {
    'simple_cnn': simple_cnn.build,
}


def _predict(model: tf.keras.Model, dataset: tf.data.Dataset):
  labels, scores = [], []
  for images, batch_labels in dataset:
    scores.append(model(images, training=False).numpy())
    labels.append(batch_labels.numpy())
  return np.concatenate(labels).astype(np.int64), np.concatenate(scores)


def run_fn(fn_args: FnArgs) -> None:
  config = fn_args.custom_config
  model_name = config['model_name']
  if model_name not in MODELS:
    raise ValueError(f'Unknown model {model_name!r}; choose one of {sorted(MODELS)}.')
  vocabulary = genre_vocabulary.read_vocabulary(data.examples_dir(fn_args.train_files))
  if len(vocabulary) != int(config['num_genres']):
    raise ValueError(
        f'The data carry {len(vocabulary)} genres but the pipeline was built for '
        f"{config['num_genres']}: rebuild the pipeline from the same labels file.")
  tft_output = tft.TFTransformOutput(fn_args.transform_graph_path)
  batch_size = int(config['batch_size'])
  train = data.make_dataset(fn_args.train_files, tft_output, len(vocabulary), batch_size,
                            shuffle=True)
  evaluation = data.make_dataset(fn_args.eval_files, tft_output, len(vocabulary), batch_size,
                                 shuffle=False)

  image_shape = train.element_spec[0].shape[1:]
  tf.keras.utils.set_random_seed(int(config.get('seed', 0)))
  model = MODELS[model_name](image_shape, len(vocabulary),
                             learning_rate=float(config['learning_rate']))
  model.summary(print_fn=logging.info)
  model.fit(
      train,
      validation_data=evaluation,
      epochs=int(config['epochs']),
      callbacks=[
          tf.keras.callbacks.EarlyStopping(
              monitor='val_pr_auc', mode='max', restore_best_weights=True,
              patience=int(config['early_stopping_patience'])),
          tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq='epoch'),
      ],
      verbose=2)

  labels, scores = _predict(model, evaluation)
  rule = decision_rule.tune_rule(labels, scores, config['threshold_policy'],
                                 int(config['min_genres']), config.get('max_genres'))
  logging.info('Decision rule tuned on eval: %s; eval macro-F1 %.4f.', rule,
               metrics.macro_f1(labels, rule.apply(scores)))
  export.export_model(model, tft_output, vocabulary, rule, fn_args.serving_model_dir)
