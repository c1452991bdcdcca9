"""The Trainer's and the Transform's settings, each a dataclass passed whole, and the models'
presets; what a field of them is and how it reaches a component: knobs/.

This module imports neither TensorFlow nor TFX: runners validate settings and answer
`--help` before those slow imports.
"""
import dataclasses
from typing import Optional

from knobs import knob
from knobs import SettingError
from knobs import validate


@dataclasses.dataclass(frozen=True)
class ModelPreset:
  """What a model needs from the Transform, and its default training length."""
  image_height: int
  image_width: int
  normalization: str
  epochs: int
  learning_rate: float
  # The EfficientNet-Lite variant of a model on an ImageNet backbone; None: none.
  backbone: Optional[str] = None
  # The backbone's top MBConv blocks (and head conv) trained end to end on augmented posters
  # after the head, for that many epochs at that learning rate; 0: the backbone stays frozen.
  fine_tuned_blocks: int = 0
  fine_tune_epochs: int = 0
  fine_tune_learning_rate: float = 0.0


# EfficientNet-Lite was trained on ImageNet at 224 px (Lite0) and 260 px (Lite2) squares;
# 288x192 and 336x224 keep about that many pixels at the posters' 3:2 shape. Their epochs and
# learning rate are the head's (on the frozen backbone's embeddings); the simple CNN is the
# research notebook's, trained from scratch. `efficientnet_lite0_fine_tuned` is the opt-in
# longer run: after the head, Lite0's last two block groups (blocks 11-15, at 1/32 of the
# input) train with it on augmented posters at a tenth of the head's learning rate, for two
# epochs (of four measured, the first had the best eval PR-AUC; each is about 3 minutes on 2
# CPUs); the frozen lower blocks keep every backward pass small (BENCHMARKS.md).
MODEL_PRESETS = {
    'simple_cnn': ModelPreset(192, 128, 'unit', epochs=15, learning_rate=1e-3),
    'efficientnet_lite0': ModelPreset(288, 192, 'symmetric', epochs=60, learning_rate=1e-3,
                                      backbone='lite0'),
    'efficientnet_lite2': ModelPreset(336, 224, 'symmetric', epochs=60, learning_rate=1e-3,
                                      backbone='lite2'),
    'efficientnet_lite0_fine_tuned': ModelPreset(
        288, 192, 'symmetric', epochs=60, learning_rate=1e-3, backbone='lite0',
        fine_tuned_blocks=5, fine_tune_epochs=2, fine_tune_learning_rate=1e-4),
}
MODEL_NAMES = tuple(MODEL_PRESETS)
RESIZE_POLICIES = ('pad', 'stretch', 'crop')
NORMALIZATIONS = ('unit', 'symmetric')


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
  """The Trainer's settings (models/trainer.py); `custom_config` carries them whole."""
  model_name: str = knob(
      'efficientnet_lite0', 'Model: an ImageNet EfficientNet-Lite backbone, frozen, with a '
      'head trained on its embeddings (efficientnet_lite0_fine_tuned then trains the '
      'backbone\'s top with it on the posters: a longer run), or the research notebook\'s '
      'CNN from scratch.', choices=MODEL_NAMES)
  epochs: Optional[int] = knob(None, 'Training epochs (of the head, on a frozen backbone); '
                               'none: the model\'s preset.', minimum=1)
  batch_size: int = knob(32, 'Training batch size.', minimum=1)
  learning_rate: Optional[float] = knob(None, 'Learning rate (of the head, on a frozen '
                                        'backbone); none: the model\'s preset.', minimum=0.0)
  early_stopping_patience: int = knob(3, 'Epochs without a better eval PR-AUC before '
                                      'end-to-end training (or fine-tuning) stops.',
                                      minimum=1)
  head_hidden_units: int = knob(512, 'Hidden units of the genre head.', minimum=1)
  head_dropout: float = knob(0.5, 'Dropout before the head\'s output layer.', minimum=0.0)
  head_early_stopping_patience: int = knob(8, 'Epochs without a better eval PR-AUC before '
                                           'head training stops.', minimum=1)
  head_members: int = knob(3, 'Heads trained from different initialisations, their scores '
                           'averaged (steadier scores, so rare genres\' margins are less '
                           'noise: bench/decision_rules.py); on a frozen backbone each is a '
                           'pair, one head on the top features and one with the pooled '
                           'block features. Each adds training time, not serving cost.',
                           minimum=1)
  min_genres: int = knob(1, 'Genres every poster gets at least.', minimum=0)
  max_genres: Optional[int] = knob(3, 'Genres a poster gets at most (the data\'s posters '
                                   'have 1 to 3); none: no cap.', minimum=1)
  seed: int = knob(0, 'Seed of initialisation, dropout and shuffling (a retrain with '
                   'another seed is how the push gate\'s tolerances were measured).')

  def __post_init__(self):
    validate(self)
    if self.max_genres is not None and self.max_genres < self.min_genres:
      raise SettingError(f'max_genres={self.max_genres} is below min_genres='
                         f'{self.min_genres}.')

  @property
  def preset(self) -> ModelPreset:
    return MODEL_PRESETS[self.model_name]

  @property
  def frozen_backbone(self) -> bool:
    """Whether the model starts from a frozen backbone whose output for a poster is fixed
    (across runs too, with the same backbone and preprocessing): what makes embeddings
    reusable. A fine-tuned model's head trains on them before its top blocks train."""
    return self.preset.backbone is not None

  @property
  def resolved_epochs(self) -> int:
    return self.preset.epochs if self.epochs is None else self.epochs

  @property
  def resolved_learning_rate(self) -> float:
    return self.preset.learning_rate if self.learning_rate is None else self.learning_rate


@dataclasses.dataclass(frozen=True)
class TransformConfig:
  """How a poster becomes model input (models/preprocessing.py); the Transform's
  `custom_config`. None: the model's preset (MODEL_PRESETS)."""
  image_height: Optional[int] = knob(None, 'Model input height in pixels; none: the '
                                     'model\'s preset.', minimum=8)
  image_width: Optional[int] = knob(None, 'Model input width in pixels; none: the '
                                    'model\'s preset.', minimum=8)
  resize_policy: str = knob('pad', 'pad keeps the aspect ratio and pads (posters are about '
                            '2:3, so a 3:2 target pads little); stretch distorts odd shapes; '
                            'crop keeps the aspect ratio and crops the centre.',
                            choices=RESIZE_POLICIES)
  normalization: Optional[str] = knob(None, 'unit scales to [0, 1] (the notebook\'s CNN); '
                                      'symmetric to (x - 127) / 128 (ImageNet Lite); none: '
                                      'the model\'s preset.', choices=NORMALIZATIONS)

  def __post_init__(self):
    validate(self)

  def for_model(self, model_name: str) -> 'TransformConfig':
    """Every unset field filled in from `model_name`'s preset."""
    preset = MODEL_PRESETS[model_name]
    return dataclasses.replace(
        self, **{f.name: getattr(preset, f.name) for f in dataclasses.fields(self)
                 if getattr(self, f.name) is None})
