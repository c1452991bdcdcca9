"""tf.Transform entry point, referenced by the pipeline as `transform_module.preprocessing_fn`.

The graph itself is models/preprocessing.py; its settings are `models.settings.TransformConfig`,
resolved for the model by the pipeline and carried whole in `custom_config`.
"""
from typing import Any, Dict

import knobs
from models import settings
from models import preprocessing


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, Any]:
  return preprocessing.preprocess(
      inputs, knobs.from_custom_config(settings.TransformConfig, custom_config))
