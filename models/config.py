"""Typed settings: the Trainer's and the Transform's dataclasses, each passed whole, and how
any settings dataclass becomes flags, environment variables and `custom_config`.

A setting is a dataclass field, declared once with its default, its help text and, where it
has them, its choices and lower bound. Everything else is derived from the fields: the
`custom_config` a TFX component receives (`as_custom_config` / `from_custom_config`), the
`POSTER_<NAME>` environment variable that overrides it (`from_env`), the runner's
`--<name>` flag (`add_flags`), and the validation that runs when the dataclass is built,
so a bad value fails in the launching process before any component runs. Adding a knob is
adding a field and using it.

This module imports neither TensorFlow nor TFX: runners validate settings and answer
`--help` before those slow imports.
"""
import argparse
import dataclasses
import os
from types import MappingProxyType
import typing
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Type, TypeVar

ENV_PREFIX = 'POSTER_'

T = TypeVar('T')


def knob(default: Any, help: str, choices: Optional[Sequence[Any]] = None,  # pylint: disable=redefined-builtin
         minimum: Optional[float] = None, maximum: Optional[float] = None) -> Any:
  """A settings field: its default, what it does, and what values it accepts."""
  return dataclasses.field(default=default, metadata={
      'help': help, 'choices': tuple(choices) if choices is not None else None,
      'minimum': minimum, 'maximum': maximum})


def _base_type(field: dataclasses.Field) -> type:
  """int for `int` and `Optional[int]`, and so on."""
  annotation = field.type
  if typing.get_origin(annotation) is typing.Union:
    annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
  return annotation


def _optional(field: dataclasses.Field) -> bool:
  return type(None) in typing.get_args(field.type)


def env_name(field_name: str) -> str:
  return ENV_PREFIX + field_name.upper()


def parse_value(field: dataclasses.Field, text: str) -> Any:
  """A field's value from its flag or environment text ('' or 'none': None, if optional)."""
  if _optional(field) and text.strip().lower() in ('', 'none'):
    return None
  base = _base_type(field)
  if base is bool:
    value = text.strip().lower()
    if value not in ('1', 'true', 'yes', '0', 'false', 'no'):
      raise ValueError(f'use 1 or 0, not {text!r}')
    return value in ('1', 'true', 'yes')
  return base(text)


class SettingError(ValueError):
  """A setting has a value it does not accept; the message says which and what to use."""


class FlagParser(argparse.ArgumentParser):
  """An argument parser whose errors are one line: with dozens of knobs, argparse's usage
  summary would bury the one thing that is wrong."""

  def error(self, message: str):
    self.exit(2, f'{self.prog}: {message} (see --help)\n')


def validate(settings: Any) -> None:
  """Checks every knob of a settings dataclass against its type, choices and bounds."""
  for field in dataclasses.fields(settings):
    if not _is_knob(field):
      continue
    value = getattr(settings, field.name)
    if value is None:
      if not _optional(field):
        raise SettingError(f'{field.name} needs a value ({env_name(field.name)}).')
      continue
    base = _base_type(field)
    wrong_type = (not isinstance(value, base) if base is not float
                  else not isinstance(value, (int, float)) or isinstance(value, bool))
    if wrong_type or (base is int and isinstance(value, bool)):
      raise SettingError(f'{field.name}={value!r} is not a {base.__name__} '
                         f'({env_name(field.name)}).')
    choices = field.metadata.get('choices')
    if choices is not None and value not in choices:
      raise SettingError(f'{field.name}={value!r} is not one of {", ".join(map(str, choices))} '
                         f'({env_name(field.name)}).')
    minimum = field.metadata.get('minimum')
    if minimum is not None and value < minimum:
      raise SettingError(f'{field.name}={value!r} is below its minimum {minimum} '
                         f'({env_name(field.name)}).')
    maximum = field.metadata.get('maximum')
    if maximum is not None and value > maximum:
      raise SettingError(f'{field.name}={value!r} is above its maximum {maximum} '
                         f'({env_name(field.name)}).')


def as_custom_config(settings: Any) -> Dict[str, Any]:
  """The settings as a TFX `custom_config` (JSON-serializable)."""
  return dataclasses.asdict(settings)


def from_custom_config(cls: Type[T], custom_config: Mapping[str, Any]) -> T:
  """Rebuilds `cls` from a `custom_config`; keys that are not its fields are ignored, so
  one `custom_config` can carry settings of several dataclasses. JSON turns the float 1.0
  into 1 on some paths; the field's type restores it."""
  values = {}
  for field in dataclasses.fields(cls):
    if field.name in custom_config:
      value = custom_config[field.name]
      if value is not None and _base_type(field) is float:
        value = float(value)
      values[field.name] = value
  return cls(**values)


def _is_knob(field: dataclasses.Field) -> bool:
  return 'help' in field.metadata


def _nested(field: dataclasses.Field) -> bool:
  return dataclasses.is_dataclass(field.type)


def knob_fields(cls: Type[Any]) -> Iterator[dataclasses.Field]:
  """Every knob of `cls` and of the settings dataclasses it holds, depth first."""
  for field in dataclasses.fields(cls):
    if _nested(field):
      yield from knob_fields(field.type)
    elif _is_knob(field):
      yield field


def from_env(cls: Type[T], environ: Mapping[str, str] = os.environ,
             overrides: Mapping[str, Any] = MappingProxyType({})) -> T:
  """Defaults, then `POSTER_<FIELD>` environment variables, then non-None `overrides`.

  Settings dataclasses held by `cls` are built the same way; knob names are unique across
  them, so `overrides` is one flat mapping, as the environment is.
  """
  values = {}
  for field in dataclasses.fields(cls):
    if _nested(field):
      values[field.name] = from_env(field.type, environ, overrides)
      continue
    name = env_name(field.name)
    if _is_knob(field) and name in environ:
      try:
        values[field.name] = parse_value(field, environ[name])
      except ValueError as error:
        raise SettingError(f'{name}={environ[name]!r}: {error}') from None
    if overrides.get(field.name) is not None:
      values[field.name] = overrides[field.name]
  return cls(**values)


def add_flags(parser: argparse.ArgumentParser, cls: Type[Any]) -> None:
  """One `--<field-name>` flag per knob of `cls` (and of the dataclasses it holds), grouped
  by dataclass; a flag defaults to None: not given."""
  group = parser.add_argument_group(cls.__doc__.strip().splitlines()[0] if cls.__doc__
                                    else cls.__name__)
  for field in dataclasses.fields(cls):
    if _nested(field):
      add_flags(parser, field.type)
      continue
    if not _is_knob(field):
      continue
    choices = field.metadata['choices']
    default = field.default if field.default is not dataclasses.MISSING else None
    # A switch alone turns its knob on (`--allow-anomalies`); `--allow-anomalies 0` off.
    switch = dict(nargs='?', const='1') if _base_type(field) is bool else {}
    group.add_argument(
        '--' + field.name.replace('_', '-'), dest=field.name, default=None,
        metavar=None if choices else _base_type(field).__name__.upper(),
        choices=[str(c) for c in choices] if choices else None,
        help=f'{field.metadata["help"]} Default: {default}; env {env_name(field.name)}.',
        **switch)


def flag_overrides(args: argparse.Namespace, cls: Type[Any]) -> Dict[str, Any]:
  """The knobs of `cls` given as flags, parsed to their fields' types."""
  overrides = {}
  for field in knob_fields(cls):
    text = getattr(args, field.name, None)
    if text is not None:
      try:
        overrides[field.name] = parse_value(field, text)
      except ValueError as error:
        raise SettingError(f'--{field.name.replace("_", "-")}={text}: {error}') from None
  return overrides


@dataclasses.dataclass(frozen=True)
class ModelPreset:
  """What a model needs from the Transform, and its default training length."""
  image_height: int
  image_width: int
  normalization: str
  epochs: int
  learning_rate: float
  # The EfficientNet-Lite variant of a model on a frozen ImageNet backbone; None: none.
  backbone: Optional[str] = None


# EfficientNet-Lite was trained on ImageNet at 224 px (Lite0) and 260 px (Lite2) squares;
# 288x192 and 336x224 keep about that many pixels at the posters' 3:2 shape. Their epochs and
# learning rate are the head's (the backbone is frozen); the simple CNN is the research
# notebook's, trained from scratch.
MODEL_PRESETS = {
    'simple_cnn': ModelPreset(192, 128, 'unit', epochs=15, learning_rate=1e-3),
    'efficientnet_lite0': ModelPreset(288, 192, 'symmetric', epochs=60, learning_rate=1e-3,
                                      backbone='lite0'),
    'efficientnet_lite2': ModelPreset(336, 224, 'symmetric', epochs=60, learning_rate=1e-3,
                                      backbone='lite2'),
}
MODEL_NAMES = tuple(MODEL_PRESETS)
RESIZE_POLICIES = ('pad', 'stretch', 'crop')
NORMALIZATIONS = ('unit', 'symmetric')
LOSSES = ('bce', 'pos_weight', 'focal', 'asymmetric')
THRESHOLD_POLICIES = ('per_genre', 'global', 'base_rate')


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
  """The Trainer's settings (models/trainer.py); `custom_config` carries them whole."""
  model_name: str = knob(
      'efficientnet_lite0', 'Model: an ImageNet EfficientNet-Lite backbone, frozen, with a '
      'head trained on its embeddings, or the research notebook\'s CNN from scratch.',
      choices=MODEL_NAMES)
  epochs: Optional[int] = knob(None, 'Training epochs (of the head, on a frozen backbone); '
                               'none: the model\'s preset.', minimum=1)
  batch_size: int = knob(32, 'Training batch size.', minimum=1)
  learning_rate: Optional[float] = knob(None, 'Learning rate (of the head, on a frozen '
                                        'backbone); none: the model\'s preset.', minimum=0.0)
  early_stopping_patience: int = knob(3, 'Epochs without a better eval PR-AUC before '
                                      'end-to-end training stops.', minimum=1)
  head_hidden_units: int = knob(512, 'Hidden units of the genre head; 0: a linear head '
                                '(logistic regression per genre).', minimum=0)
  head_dropout: float = knob(0.5, 'Dropout before the head\'s output layer.', minimum=0.0)
  head_early_stopping_patience: int = knob(8, 'Epochs without a better eval PR-AUC before '
                                           'head training stops.', minimum=1)
  loss: str = knob('bce', 'Loss against genre imbalance (models/losses.py), on top of the '
                   'oversampler; BENCHMARKS.md compares them.', choices=LOSSES)
  threshold_policy: str = knob('global', 'Decision rule tuned on eval: one threshold for '
                               'all genres; one per genre (noisier: several genres have '
                               'under 20 eval positives); or base_rate, thresholds tilted '
                               'toward each genre\'s base rate with the slots of '
                               'min/max_genres going to the largest margins over them (more '
                               'rare genres named, at some micro-F1; bench/decision_rules.py).',
                               choices=THRESHOLD_POLICIES)
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
    """Whether every poster's backbone output is fixed (across runs too, with the same
    backbone and preprocessing): what makes embeddings reusable."""
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
