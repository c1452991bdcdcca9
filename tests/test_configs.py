"""Settings: each knob declared once, as a dataclass field; env, flags, custom_config and
validation all derived from it."""
import argparse
import dataclasses

import pytest

import knobs
from knobs import SettingError
from models.settings import TrainerConfig
from pipeline import configs


def _config(**overrides) -> configs.PipelineConfig:
  return configs.PipelineConfig.of(**overrides)


def test_default_model_is_efficientnet_lite0_with_imagenet_input_convention():
  config = _config()
  assert config.trainer.model_name == 'efficientnet_lite0'
  transform = config.transform_custom_config
  assert (transform['image_height'], transform['image_width']) == (288, 192)
  assert transform['normalization'] == 'symmetric'


def test_simple_cnn_keeps_the_notebooks_unit_scaling():
  assert _config(model_name='simple_cnn').transform_custom_config['normalization'] == 'unit'


def test_explicit_values_win_over_the_preset_even_when_zero():
  config = _config(learning_rate=0.0, epochs=1, image_height=48, image_width=32)
  assert config.trainer.resolved_learning_rate == 0.0 and config.trainer.resolved_epochs == 1
  assert config.transform_custom_config['image_height'] == 48


@pytest.mark.parametrize('overrides,message', [
    (dict(model_name='resnet'), 'model_name=.resnet. is not one of'),
    (dict(resize_policy='nope'), 'resize_policy=.nope. is not one of'),
    (dict(batch_size=0), 'batch_size=0 is below its minimum 1'),
    (dict(max_genres=1, min_genres=2), 'max_genres=1 is below min_genres=2'),
    (dict(genre_drop_scale=-1.0), 'genre_drop_scale'),
    (dict(beam_direct_running_mode='threads'), 'beam_direct_running_mode'),
    (dict(spans=True, model_name='simple_cnn'), 'Spans reuse each poster'),
    (dict(span_window=-1), 'span_window'),
])
def test_bad_values_are_refused_when_the_config_is_built(overrides, message):
  with pytest.raises(SettingError, match=message):
    _config(**overrides)


def test_environment_overrides_defaults_and_explicit_values_override_both():
  environ = {'POSTER_MODEL_NAME': 'simple_cnn', 'POSTER_EPOCHS': '4', 'POSTER_SEED': '7',
             'POSTER_MAX_GENRES': 'none', 'POSTER_ALLOW_ANOMALIES': '1',
             'POSTER_MIN_EVAL_POSITIVES': '20', 'POSTER_GCP_REGION': 'europe-west4'}
  config = configs.PipelineConfig.from_env(environ, epochs=2)
  assert config.trainer.model_name == 'simple_cnn' and config.trainer.epochs == 2
  assert config.trainer.seed == 7 and config.trainer.max_genres is None
  assert config.allow_anomalies and config.gate.min_eval_positives == 20
  assert config.cloud.gcp_region == 'europe-west4'
  assert configs.PipelineConfig.from_env(environ).trainer.epochs == 4


def test_a_bad_environment_value_names_its_variable():
  with pytest.raises(SettingError, match="POSTER_EPOCHS='four'"):
    configs.PipelineConfig.from_env({'POSTER_EPOCHS': 'four'})
  with pytest.raises(SettingError, match='POSTER_RESIZE_POLICY'):
    configs.PipelineConfig.from_env({'POSTER_RESIZE_POLICY': 'nope'})


def test_every_knob_is_a_flag_parsed_to_its_type():
  parser = argparse.ArgumentParser()
  knobs.add_flags(parser, configs.PipelineConfig)
  args = parser.parse_args(['--head-members', '5', '--epochs', '3', '--head-dropout', '0.25',
                            '--allow-anomalies', '--gcp-project', 'p'])
  config = _config(**knobs.flag_overrides(args, configs.PipelineConfig))
  assert (config.trainer.head_members, config.trainer.epochs,
          config.trainer.head_dropout) == (5, 3, 0.25)
  assert config.allow_anomalies and config.cloud.gcp_project == 'p'
  args = parser.parse_args(['--allow-anomalies', '0'])
  assert not _config(**knobs.flag_overrides(args, configs.PipelineConfig)).allow_anomalies
  flags = {action.dest for action in parser._actions}  # pylint: disable=protected-access
  assert {f.name for f in knobs.knob_fields(configs.PipelineConfig)} <= flags


def test_knob_names_are_unique_across_the_settings_tree():
  names = [f.name for f in knobs.knob_fields(configs.PipelineConfig)]
  assert len(names) == len(set(names))


def test_the_trainer_settings_survive_custom_config_whole():
  config = TrainerConfig(head_members=5, max_genres=None, head_dropout=1)
  carried = knobs.as_custom_config(config)
  assert knobs.from_custom_config(TrainerConfig, carried) == config
  # JSON may turn 1.0 into 1; the field's type restores it.
  assert isinstance(knobs.from_custom_config(TrainerConfig, carried).head_dropout, float)


def test_a_new_trainer_knob_needs_only_its_field():
  """What adding a knob costs: the field (and the code that uses it)."""

  @dataclasses.dataclass(frozen=True)
  class WithWarmup(TrainerConfig):
    warmup_epochs: int = knobs.knob(2, 'Epochs of learning-rate warmup.', minimum=0)

  assert knobs.from_env(WithWarmup, {'POSTER_WARMUP_EPOCHS': '5'}).warmup_epochs == 5
  assert knobs.from_custom_config(
      WithWarmup, knobs.as_custom_config(WithWarmup(warmup_epochs=1))).warmup_epochs == 1
  parser = argparse.ArgumentParser()
  knobs.add_flags(parser, WithWarmup)
  assert parser.parse_args(['--warmup-epochs', '3']).warmup_epochs == '3'
  with pytest.raises(SettingError, match='warmup_epochs=-1 is below its minimum 0'):
    WithWarmup(warmup_epochs=-1)


def test_paths_derive_from_the_output_dir_unless_given():
  config = _config(output_dir='/out', pipeline_name='p')
  assert config.pipeline_root == '/out/p'
  assert config.serving_model_dir == '/out/serving_model/p'
  assert config.accepted_statistics_dir == '/out/p/accepted_statistics'
  assert _config(pipeline_root='/root').accepted_statistics_dir == '/root/accepted_statistics'


def test_with_spans_the_labels_and_images_of_every_span_are_patterns():
  config = _config(spans=True)
  assert config.labels_pattern == 'span-{SPAN}/' + configs.LABELS_FILE
  assert config.images_pattern == 'span-{SPAN}/' + configs.IMAGES_DIR
  assert _config().labels_pattern == configs.LABELS_FILE
