"""PipelineConfig: model presets fill what is not set; what is set, even to zero, wins."""
import pytest

from pipeline import configs


def test_default_model_is_efficientnet_lite0_with_imagenet_input_convention():
  config = configs.PipelineConfig()
  assert config.model_name == 'efficientnet_lite0'
  transform = config.transform_config(num_genres=3)
  assert (transform['image_height'], transform['image_width']) == (288, 192)
  assert transform['normalization'] == 'symmetric'


def test_simple_cnn_keeps_the_notebooks_unit_scaling():
  transform = configs.PipelineConfig(model_name='simple_cnn').transform_config(num_genres=3)
  assert transform['normalization'] == 'unit'


def test_explicit_values_win_over_the_preset_even_when_zero():
  config = configs.PipelineConfig(learning_rate=0.0, epochs=1, image_height=48,
                                  image_width=32)
  trainer = config.trainer_config(num_genres=3)
  assert trainer['learning_rate'] == 0.0 and trainer['epochs'] == 1
  assert config.transform_config(num_genres=3)['image_height'] == 48


def test_unknown_model_is_refused_clearly():
  with pytest.raises(ValueError, match='Unknown model'):
    configs.PipelineConfig(model_name='resnet').trainer_config(num_genres=3)


def test_environment_overrides_defaults_and_flags_override_both(monkeypatch):
  monkeypatch.setenv('POSTER_MODEL_NAME', 'simple_cnn')
  monkeypatch.setenv('POSTER_EPOCHS', '4')
  config = configs.PipelineConfig.from_env(epochs=2)
  assert config.model_name == 'simple_cnn' and config.epochs == 2
  assert configs.PipelineConfig.from_env().epochs == 4
