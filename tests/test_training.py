"""models/training.py: what every Keras training of the project shares."""
import tensorflow as tf
from tensorflow.python.autograph.core import config as autograph_config  # pylint: disable=g-direct-tensorflow-import
from tensorflow.python.autograph.impl import conversion  # pylint: disable=g-direct-tensorflow-import

from models import training


def test_autograph_leaves_keras_2_alone_once():
  training.keep_autograph_out_of_keras()
  training.keep_autograph_out_of_keras()
  rules = [rule for rule in autograph_config.CONVERSION_RULES
           if isinstance(rule, autograph_config.DoNotConvert) and rule.matches('tf_keras')]
  assert len(rules) == 1
  assert tf.keras.Model.train_step.__module__.startswith('tf_keras.')
  assert conversion.is_allowlisted(tf.keras.Model.train_step)
