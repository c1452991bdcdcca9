"""Knobs: how any settings dataclass becomes flags, environment variables and `custom_config`.

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
