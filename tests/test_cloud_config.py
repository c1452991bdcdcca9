"""Orchestration and cloud settings: Beam runner args, Vertex AI Training, env overrides."""
import dataclasses

import pytest
from tfx import v1 as tfx

from knobs import SettingError
from pipeline import cloud
from pipeline import configs

IMAGE = 'us-central1-docker.pkg.dev/poster-project/pipelines/poster-genres:3f2c1ab'


CLOUD_DEFAULTS = configs.CloudConfig()


def _dataflow_config(**overrides) -> configs.PipelineConfig:
  values = dict(beam_runner='dataflow', gcp_project='poster-project', gcp_region='us-east1',
                pipeline_root='gs://poster-bucket/root', pipeline_image=IMAGE)
  values.update(overrides)
  return configs.PipelineConfig.of(**values)


def test_local_default_is_beams_own_in_process_runner_with_no_arguments(monkeypatch):
  # No arguments: Beam's defaults are the knobs' defaults, so nothing is packaged.
  from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  from tfx.utils import dependency_utils  # pylint: disable=g-import-not-at-top
  beam_defaults = pipeline_options.PipelineOptions([]).view_as(pipeline_options.DirectOptions)
  assert beam_defaults.direct_running_mode == configs.BEAM_DEFAULT_RUNNING_MODE
  assert beam_defaults.direct_num_workers == configs.BEAM_DEFAULT_NUM_WORKERS
  config = configs.PipelineConfig()
  assert config.beam_direct_running_mode == configs.BEAM_DEFAULT_RUNNING_MODE
  assert config.beam_pipeline_args == []

  def refuse():
    raise AssertionError('TFX built its ephemeral sdist')

  monkeypatch.setattr(dependency_utils, 'build_ephemeral_package', refuse)
  other = configs.PipelineConfig.of(beam_direct_running_mode='multi_processing',
                                    beam_direct_num_workers=2)
  # Another runner is named, with the setup file that spares TFX's sdist of itself.
  assert other.beam_pipeline_args == [
      '--direct_running_mode=multi_processing', '--direct_num_workers=2',
      f'--setup_file={other.beam_setup_file}']
  assert dependency_utils.make_beam_dependency_flags(other.beam_pipeline_args) == (
      other.beam_pipeline_args)
  extra = configs.PipelineConfig.of(extra_beam_args=['--experiments=use_runner_v2'])
  assert extra.beam_pipeline_args == ['--experiments=use_runner_v2',
                                      f'--setup_file={extra.beam_setup_file}']


def test_dataflow_runs_workers_in_the_pipeline_image_by_default():
  args = _dataflow_config(extra_beam_args=['--disk_size_gb=50']).beam_pipeline_args
  assert args == [
      '--runner=DataflowRunner', '--project=poster-project', '--region=us-east1',
      '--temp_location=gs://poster-bucket/root/beam-tmp',
      f'--machine_type={CLOUD_DEFAULTS.dataflow_machine_type}',
      f'--max_num_workers={CLOUD_DEFAULTS.dataflow_max_num_workers}',
      f'--sdk_container_image={IMAGE}', '--sdk_location=container', '--disk_size_gb=50']


def test_dataflow_can_install_the_package_from_setup_py_instead():
  config = _dataflow_config(
      dataflow_worker_setup='setup_file', pipeline_image='',
      dataflow_service_account='beam@poster-project.iam.gserviceaccount.com',
      dataflow_temp_location='gs://other/tmp')
  args = dataclasses.replace(config, beam_setup_file='/pipeline/setup.py').beam_pipeline_args
  assert '--setup_file=/pipeline/setup.py' in args
  assert '--temp_location=gs://other/tmp' in args
  assert '--service_account_email=beam@poster-project.iam.gserviceaccount.com' in args
  assert not any(arg.startswith('--sdk_container_image') for arg in args)


@pytest.mark.parametrize('overrides,message', [
    (dict(gcp_project=''), 'POSTER_GCP_PROJECT'),
    (dict(pipeline_root='/local/root'), 'POSTER_DATAFLOW_TEMP_LOCATION'),
    (dict(pipeline_image=''), 'POSTER_PIPELINE_IMAGE'),
    (dict(dataflow_worker_setup='wheel'), 'dataflow_worker_setup'),
    (dict(beam_runner='flink'), 'beam_runner'),
])
def test_incomplete_dataflow_settings_are_named_when_the_config_is_built(overrides, message):
  with pytest.raises(SettingError, match=message):
    _dataflow_config(**overrides)


def test_cloud_settings_come_from_the_environment(monkeypatch):
  for name, value in {'POSTER_GCP_PROJECT': 'poster-project', 'POSTER_GCP_REGION': 'us-east1',
                      'POSTER_PIPELINE_IMAGE': IMAGE, 'POSTER_BEAM_RUNNER': 'dataflow',
                      'POSTER_DATAFLOW_MAX_NUM_WORKERS': '40',
                      'POSTER_DATAFLOW_WORKER_SETUP': 'setup_file',
                      'POSTER_VERTEX_TRAINING': '1',
                      'POSTER_VERTEX_TRAINING_ACCELERATOR_TYPE': 'NVIDIA_L4',
                      'POSTER_VERTEX_TRAINING_ACCELERATOR_COUNT': '2'}.items():
    monkeypatch.setenv(name, value)
  monkeypatch.setenv('POSTER_PIPELINE_ROOT', 'gs://poster-bucket/root')
  config = configs.PipelineConfig.from_env().cloud
  assert (config.gcp_project, config.gcp_region, config.pipeline_image) == (
      'poster-project', 'us-east1', IMAGE)
  assert (config.beam_runner, config.dataflow_max_num_workers,
          config.dataflow_worker_setup) == ('dataflow', 40, 'setup_file')
  assert config.vertex_training is True
  assert (config.vertex_training_accelerator_type,
          config.vertex_training_accelerator_count) == ('NVIDIA_L4', 2)


def test_a_switch_that_is_not_0_or_1_is_refused(monkeypatch):
  monkeypatch.setenv('POSTER_VERTEX_TRAINING', 'maybe')
  with pytest.raises(ValueError, match='POSTER_VERTEX_TRAINING'):
    configs.PipelineConfig.from_env()


def test_training_stays_in_the_pipeline_by_default():
  config = configs.CloudConfig()
  assert cloud.trainer_component(config) is tfx.components.Trainer
  assert cloud.vertex_training_config(config) == {}


def test_vertex_training_on_cpu_and_on_gpu():
  config = _dataflow_config(vertex_training=True).cloud
  assert cloud.trainer_component(config) is tfx.extensions.google_cloud_ai_platform.Trainer
  training = cloud.vertex_training_config(config)
  keys = tfx.extensions.google_cloud_ai_platform
  assert training[keys.ENABLE_VERTEX_KEY] is True
  assert training[keys.VERTEX_REGION_KEY] == 'us-east1'
  job = training[keys.TRAINING_ARGS_KEY]
  assert job['project'] == 'poster-project'
  assert job['worker_pool_specs'] == [{
      'machine_spec': {'machine_type': CLOUD_DEFAULTS.vertex_training_machine_type},
      'replica_count': 1, 'container_spec': {'image_uri': IMAGE}}]

  gpu = dataclasses.replace(config, vertex_training_accelerator_type='NVIDIA_TESLA_T4',
                            vertex_training_accelerator_count=2)
  machine_spec = cloud.vertex_training_config(gpu)[keys.TRAINING_ARGS_KEY][
      'worker_pool_specs'][0]['machine_spec']
  assert machine_spec['accelerator_type'] == 'NVIDIA_TESLA_T4'
  assert machine_spec['accelerator_count'] == 2


def test_vertex_training_without_an_image_is_a_clear_error():
  with pytest.raises(SettingError, match='Vertex AI Training needs POSTER_PIPELINE_IMAGE'):
    configs.CloudConfig(vertex_training=True, gcp_project='p')
