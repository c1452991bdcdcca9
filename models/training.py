"""What every model's training shares: the metric it is judged by and when it stops.

Macro PR-AUC over genres suits rare labels better than accuracy or loss, and the Evaluator's
gate uses the same measure, so every model monitors it on `eval` and keeps its best weights.
"""
import tensorflow as tf

# Keras logs the eval value as 'val_' + this name.
PR_AUC = 'pr_auc'


def pr_auc_metric(num_genres: int) -> tf.keras.metrics.Metric:
  # Not named 'auc': a Keras metric sharing a TFMA built-in's name collides in TFMA.
  return tf.keras.metrics.AUC(curve='PR', multi_label=True, num_labels=num_genres,
                              name=PR_AUC)


def early_stopping(patience: int) -> tf.keras.callbacks.Callback:
  return tf.keras.callbacks.EarlyStopping(monitor=f'val_{PR_AUC}', mode='max',
                                          patience=patience, restore_best_weights=True)
