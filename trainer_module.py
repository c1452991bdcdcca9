"""TFX Trainer entry point, referenced by the pipeline as `trainer_module.run_fn`.

The training code is models/trainer.py; its settings are `models.settings.TrainerConfig`,
carried whole in `custom_config`.
"""
from models.trainer import run_fn  # pylint: disable=unused-import
