"""The Kubeflow V2 / Vertex AI pipeline spec, compiled offline from the one pipeline definition.

Compiling reads no data and needs no cloud access: these tests compile both targets with
gs:// paths and check the spec against the local pipeline object and against what the open-
source Kubeflow Pipelines backend accepts and caches (kubeflow/pipelines at 7b70c7b).
"""
import json
import os
import re
import subprocess
import sys
from typing import List, Optional

from google.protobuf import json_format
from kfp.client import client as kfp_client
from kfp.pipeline_spec import pipeline_spec_pb2
import pytest
from tfx import v1 as tfx
from tfx.orchestration.local import local_dag_runner
from tfx.types import standard_artifacts
from tfx.utils import import_utils
import yaml

import kubeflow_v2_runner
import local_runner
import knobs
from models import settings
from pipeline import configs
from pipeline import pipeline
from pipeline import run_summary
from tests import synthetic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = 'us-central1-docker.pkg.dev/poster-project/pipelines/poster-genres:3f2c1ab'
# Components whose executors run Beam pipelines, on Dataflow when switched on.
BEAM_COMPONENTS = ('PosterExampleGen', 'StatisticsGen', 'Transform', 'RareGenreOversampler',
                   'Evaluator', 'TestEvaluator')
GENRES = ('Action', 'Comedy', 'Drama', 'Horror', 'Western')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
  """A labels file (for the runners, which check that the data root exists)."""
  rows = [synthetic.csv_row(f'tt{i:04d}', [GENRES[i % 4], GENRES[(i + 1) % 4]])
          for i in range(40)]
  return synthetic.write_dataset(str(tmp_path_factory.mktemp('data') / 'movie-classifier'),
                                 rows, {})


BUCKET = 'gs://poster-bucket'
CLOUD_PATHS = dict(data_root=f'{BUCKET}/movie-classifier',
                   pipeline_root=f'{BUCKET}/pipeline-root',
                   serving_model_dir=f'{BUCKET}/serving/poster-genres')


def _config(**overrides) -> configs.PipelineConfig:
  values = dict(**CLOUD_PATHS, pipeline_image=IMAGE, min_genre_count=1)
  return configs.PipelineConfig.of(**{**values, **overrides})


def _compile(config: configs.PipelineConfig, output_file: str) -> dict:
  target = 'kfp' if output_file.endswith('.yaml') else 'vertex'
  kubeflow_v2_runner.compile_pipeline(config, output_file, target)
  with open(output_file, encoding='utf-8') as f:
    return yaml.safe_load(f) if output_file.endswith('.yaml') else json.load(f)


def kfp_api_server_refusal(spec: dict) -> Optional[str]:
  """Why the Kubeflow Pipelines API server refuses a pipeline spec, or None: its checks on
  upload (backend/src/apiserver/template/v2_template.go, NewV2SpecTemplate)."""
  if spec.get('schemaVersion') != '2.1.0':
    return ('KFP only supports schema version 2.1.0, but the pipeline spec has version '
            f'{spec.get("schemaVersion")}')
  name = spec.get('pipelineInfo', {}).get('name', '')
  if not re.fullmatch(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*',
                      name):
    return f'invalid v2 pipeline spec: name {name!r}'
  if not spec.get('root'):
    return 'invalid v2 pipeline spec: root component is empty'
  return None


def stale_cache_tasks(spec: pipeline_spec_pb2.PipelineSpec) -> List[str]:
  """Tasks that Kubeflow Pipelines could serve from its cache after their data changed: caching
  on, and a cache key that sees the data only through a preCacheCheck hook, which KFP's backend
  never runs (its key: input artifact ids, parameters, command and image;
  backend/src/v2/driver/cache.go)."""
  return sorted(
      name for name, task in spec.root.dag.tasks.items()
      if task.caching_options.enable_cache
      and 'preCacheCheck' in _container(spec, name).get('lifecycle', {}))


def _container(spec: pipeline_spec_pb2.PipelineSpec, task_name: str) -> dict:
  label = spec.components[spec.root.dag.tasks[task_name].component_ref.name].executor_label
  return json_format.MessageToDict(spec.deployment_spec)['executors'][label]['container']


def _pipeline_spec(spec_dict: dict) -> pipeline_spec_pb2.PipelineSpec:
  return json_format.ParseDict(spec_dict, pipeline_spec_pb2.PipelineSpec())


@pytest.fixture(scope='module')
def local_compiled(tmp_path_factory):
  """(config, local Pipeline object, compiled PipelineJob dict) of the default config."""
  root = str(tmp_path_factory.mktemp('local'))
  config = _config()
  job = _compile(config, os.path.join(root, 'poster-genres.json'))
  return config, pipeline.create_pipeline(config), job


@pytest.fixture(scope='module')
def kfp_compiled(tmp_path_factory):
  """(config, PipelineSpec dict, file) of the default config for the kfp target."""
  root = str(tmp_path_factory.mktemp('kfp'))
  config = _config()
  spec_file = os.path.join(root, 'poster-genres.yaml')
  return config, _compile(config, spec_file), spec_file


@pytest.fixture(scope='module')
def cloud_spec(tmp_path_factory):
  """(config, PipelineSpec, file) with Dataflow and Vertex AI Training on, compiled to YAML."""
  root = str(tmp_path_factory.mktemp('cloud'))
  config = _config(gcp_project='poster-project', gcp_region='europe-west4',
                   beam_runner='dataflow', dataflow_temp_location='gs://poster-bucket/tmp',
                   dataflow_max_num_workers=25, vertex_training=True,
                   vertex_training_accelerator_type='NVIDIA_TESLA_T4')
  spec_file = os.path.join(root, 'poster-genres.yaml')
  return config, _pipeline_spec(_compile(config, spec_file)), spec_file


def resolver_tasks(spec: pipeline_spec_pb2.PipelineSpec):
  """Tasks whose executor is a resolver: open-source Kubeflow Pipelines refuses them (its
  argo compiler: "resolver executors not implemented")."""
  executors = spec.deployment_spec['executors']
  return sorted(name for name, task in spec.root.dag.tasks.items()
                if 'resolver' in executors[
                    spec.components[task.component_ref.name].executor_label])


def _wiring(component):
  """{input key: (producer node id, output key)} of a local component."""
  return {key: (channel.producer_component_id, channel.output_key)
          for key, channel in component.inputs.items()}


def _executor_args(spec: pipeline_spec_pb2.PipelineSpec, task_name: str):
  label = spec.components[spec.root.dag.tasks[task_name].component_ref.name].executor_label
  return list(spec.deployment_spec['executors'][label]['container']['args'])


def _parameter(spec: pipeline_spec_pb2.PipelineSpec, task_name: str, name: str):
  """A task's constant parameter (schema 2.1: a protobuf Value)."""
  return json_format.MessageToDict(
      spec.root.dag.tasks[task_name].inputs.parameters[name].runtime_value.constant)


def _resources(spec: pipeline_spec_pb2.PipelineSpec, task_name: str) -> dict:
  return _container(spec, task_name).get('resources', {})


def test_both_targets_compile_a_spec_the_kfp_api_server_accepts(local_compiled, kfp_compiled):
  _, _, job = local_compiled
  _, kfp_spec, _ = kfp_compiled
  assert kfp_api_server_refusal(kfp_spec) is None
  # Vertex AI runs 2.1.0 specs as the KFP 2 SDK compiles them; the PipelineJob's runtime
  # config then carries `parameterValues`, as google-cloud-aiplatform builds it.
  assert job['pipelineSpec']['schemaVersion'] == kubeflow_v2_runner.SCHEMA_VERSION == '2.1.0'
  assert kfp_api_server_refusal(job['pipelineSpec']) is None
  assert 'parameters' not in job['runtimeConfig']


def test_the_api_server_check_refuses_tfxs_default_schema(tmp_path):
  """TFX's default compile writes schema 2.0.0, which the KFP API server refuses."""
  tfx_default = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=IMAGE),
      output_dir=str(tmp_path)).run(
          pipeline.create_pipeline(kubeflow_v2_runner.container_config(_config())),
          write_out=False)
  assert 'schema version 2.1.0' in kfp_api_server_refusal(tfx_default['pipelineSpec'])


def test_no_kfp_task_can_serve_new_data_from_the_cache(kfp_compiled):
  _, spec_dict, _ = kfp_compiled
  spec = _pipeline_spec(spec_dict)
  assert stale_cache_tasks(spec) == []
  # Ingest runs every time; what only reads the image stays cached.
  assert not spec.root.dag.tasks['PosterExampleGen'].caching_options.enable_cache
  assert spec.root.dag.tasks['ImportSchemaGen'].caching_options.enable_cache


def test_the_stale_cache_check_sees_a_cached_ingest(local_compiled):
  """The vertex spec keeps ingest cached, keyed by its preCacheCheck driver, which Vertex AI
  runs and Kubeflow Pipelines does not: the check names that task."""
  _, _, job = local_compiled
  assert stale_cache_tasks(_pipeline_spec(job['pipelineSpec'])) == ['PosterExampleGen']


def test_heavy_tasks_get_their_resources(tmp_path):
  config = _config(trainer_cpu=8.0, trainer_memory_gb=30.0, evaluator_memory_gb=12.0,
                   trainer_accelerator_type='NVIDIA_TESLA_T4', trainer_accelerator_count=2)
  spec = _pipeline_spec(_compile(config, str(tmp_path / 'spec.yaml')))
  trainer = _resources(spec, 'Trainer')
  assert (trainer['cpuLimit'], trainer['memoryLimit']) == (8.0, 30.0)
  assert trainer['accelerator'] == {'type': 'NVIDIA_TESLA_T4', 'count': '2'}
  assert _resources(spec, 'PosterExampleGen') == {'cpuLimit': 2.0, 'memoryLimit': 4.0}
  for task_name in ('Evaluator', 'TestEvaluator'):
    assert _resources(spec, task_name) == {'cpuLimit': 4.0, 'memoryLimit': 12.0}
  assert _resources(spec, 'Pusher') == {}


def test_a_trainer_on_vertex_training_takes_no_task_resources(cloud_spec):
  _, spec, _ = cloud_spec
  assert _resources(spec, 'Trainer') == {}
  assert _resources(spec, 'Evaluator') == {'cpuLimit': 4.0, 'memoryLimit': 8.0}


def test_spec_parses_as_a_kfp_pipeline_job_and_pipeline_spec(local_compiled):
  _, _, job = local_compiled
  json_format.ParseDict(job, pipeline_spec_pb2.PipelineJob())
  assert _pipeline_spec(job['pipelineSpec']).pipeline_info.name == 'poster-genres'


def test_every_local_component_is_a_task_with_the_same_wiring(local_compiled):
  _, local_pipeline, job = local_compiled
  spec = _pipeline_spec(job['pipelineSpec'])
  nodes = {component.id: component for component in local_pipeline.components}
  tasks = spec.root.dag.tasks
  assert set(tasks) == set(nodes)
  for node_id, component in nodes.items():
    task = tasks[node_id]
    compiled_wiring = {
        key: (artifact.task_output_artifact.producer_task,
              artifact.task_output_artifact.output_artifact_key)
        for key, artifact in task.inputs.artifacts.items()}
    assert compiled_wiring == _wiring(component), node_id
    assert set(task.dependent_tasks) == {
        upstream.id for upstream in component.upstream_nodes}, node_id


def test_no_target_compiles_a_resolver_executor(local_compiled, cloud_spec):
  _, _, job = local_compiled
  _, kfp_spec, _ = cloud_spec
  assert resolver_tasks(_pipeline_spec(job['pipelineSpec'])) == []
  assert resolver_tasks(kfp_spec) == []


def test_the_resolver_check_sees_a_resolver(tmp_path):
  """A pipeline with TFX's latest-blessed-model resolver compiles into a resolver task."""
  config = _config()
  resolver = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=standard_artifacts.ModelBlessing)).with_id('latest')
  with_resolver = pipeline.create_pipeline(kubeflow_v2_runner.container_config(config))
  with_resolver.components.append(resolver)
  spec_file = str(tmp_path / 'with_resolver.yaml')
  tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=IMAGE),
      output_dir=str(tmp_path), output_filename='with_resolver.yaml').run(with_resolver)
  with open(spec_file, encoding='utf-8') as f:
    assert resolver_tasks(_pipeline_spec(yaml.safe_load(f))) != []


def test_building_the_pipeline_reads_no_data(tmp_path):
  """What depends on the data is decided when components run: compiling needs none (the
  bucket does not exist, and this machine has no credentials)."""
  kubeflow_v2_runner.compile_pipeline(_config(), str(tmp_path / 'spec.yaml'), 'kfp')
  assert os.listdir(tmp_path) == ['spec.yaml']


def test_custom_artifact_types_are_importable_by_their_type_name(local_compiled):
  """The Kubeflow V2 launcher recovers a custom artifact's class from its TYPE_NAME."""
  _, local_pipeline, _ = local_compiled
  spans_pipeline = pipeline.create_pipeline(_config(spans=True))
  custom_types = {channel.type
                  for component in local_pipeline.components + spans_pipeline.components
                  for channel in component.outputs.values()
                  if not hasattr(standard_artifacts, channel.type.__name__)}
  assert {t.TYPE_NAME for t in custom_types} >= {'components.IngestSummary',
                                                 'components.SpanWindow'}
  for artifact_type in custom_types:
    assert import_utils.import_class_by_path(artifact_type.TYPE_NAME) is artifact_type


def test_spec_uses_the_configured_image_and_pipeline_root(local_compiled):
  config, local_pipeline, job = local_compiled
  spec = _pipeline_spec(job['pipelineSpec'])
  executors = spec.deployment_spec['executors']
  containers = [executors[label]['container'] for label in executors.keys()
                if 'container' in executors[label]]
  assert len(containers) == len(local_pipeline.components)
  assert {container['image'] for container in containers} == {IMAGE}
  assert job['runtimeConfig']['gcsOutputDirectory'] == config.pipeline_root
  # The Trainer and Transform run the image's installed code, by import path: no wheels.
  assert _parameter(spec, 'Trainer', 'run_fn') == 'trainer_module.run_fn'
  assert _parameter(spec, 'Transform', 'preprocessing_fn') == 'transform_module.preprocessing_fn'
  assert 'module_file' not in spec.root.dag.tasks['Trainer'].inputs.parameters


def test_containers_run_beams_in_process_runner_on_the_images_code(local_compiled):
  # No Beam arguments: the DirectRunner's defaults, in the task's process, on the code
  # installed in the image; nothing to package or stage.
  _, _, job = local_compiled
  spec = _pipeline_spec(job['pipelineSpec'])
  for task_name in BEAM_COMPONENTS:
    args = _executor_args(spec, task_name)
    assert args, task_name
    assert not any(arg.startswith(('--runner=', '--direct_', '--setup_file', '--extra_package'))
                   for arg in args), (task_name, args)


def test_yaml_spec_loads_as_the_kubeflow_pipelines_client_loads_it(cloud_spec):
  _, spec, spec_file = cloud_spec
  # The loader behind kfp.Client().create_run_from_pipeline_package and upload_pipeline.
  loaded = kfp_client._extract_pipeline_yaml(spec_file)  # pylint: disable=protected-access
  assert loaded.pipeline_spec == spec


def test_dataflow_switch_puts_dataflow_args_on_every_beam_component(cloud_spec):
  _, spec, _ = cloud_spec
  expected = ['--runner=DataflowRunner', '--project=poster-project', '--region=europe-west4',
              '--temp_location=gs://poster-bucket/tmp', '--max_num_workers=25',
              f'--sdk_container_image={IMAGE}', '--sdk_location=container']
  for task_name in BEAM_COMPONENTS:
    args = _executor_args(spec, task_name)
    assert all(arg in args for arg in expected), (task_name, args)
    assert not any(arg.startswith('--direct_') for arg in args), task_name


def test_vertex_training_switch_trains_on_vertex_in_the_pipeline_image(cloud_spec):
  config, spec, _ = cloud_spec
  args = _executor_args(spec, 'Trainer')
  executor_class = args[args.index('--executor_class_path') + 1]
  assert executor_class.startswith('tfx.extensions.google_cloud_ai_platform.trainer.executor')
  custom_config = json.loads(_parameter(spec, 'Trainer', 'custom_config'))
  cloud = tfx.extensions.google_cloud_ai_platform
  assert custom_config[cloud.ENABLE_VERTEX_KEY] is True
  assert custom_config[cloud.VERTEX_REGION_KEY] == 'europe-west4'
  [worker_pool] = custom_config[cloud.TRAINING_ARGS_KEY]['worker_pool_specs']
  assert worker_pool['container_spec'] == {'image_uri': IMAGE}
  assert worker_pool['machine_spec']['accelerator_type'] == 'NVIDIA_TESLA_T4'
  # The Trainer's own settings ride along whole.
  assert knobs.from_custom_config(settings.TrainerConfig, custom_config) == config.trainer


def test_one_definition_two_runners_and_a_config_change_reaches_both(
    tmp_path, data_root, monkeypatch):
  """Both runners build through pipeline.create_pipeline from the same POSTER_* settings.

  No bucket is reachable here, so the cloud runner's data root is taken as given
  (cloud_data_root has tests of its own)."""
  built = []
  real_create_pipeline = pipeline.create_pipeline

  def recording_create_pipeline(config):
    built.append(real_create_pipeline(config))
    return built[-1]

  class RecordingLocalDagRunner:
    """Takes the place of LocalDagRunner: records the pipeline instead of running it."""

    def run(self, local_pipeline):
      self.ran = local_pipeline

  monkeypatch.setattr(pipeline, 'create_pipeline', recording_create_pipeline)
  monkeypatch.setattr(local_dag_runner, 'LocalDagRunner', RecordingLocalDagRunner)
  monkeypatch.setattr(run_summary, 'summary_lines', lambda config, components: [])
  for name, value in {'POSTER_DATA_ROOT': data_root, 'POSTER_OUTPUT_DIR': str(tmp_path),
                      'POSTER_PIPELINE_IMAGE': IMAGE, 'POSTER_EPOCHS': '7',
                      'POSTER_MIN_GENRE_COUNT': '2'}.items():
    monkeypatch.setenv(name, value)

  monkeypatch.setattr(sys, 'argv', ['local_runner.py'])
  local_runner.main()
  spec_file = str(tmp_path / 'spec.json')
  monkeypatch.setattr(kubeflow_v2_runner, 'cloud_data_root', lambda config, stage_to: stage_to)
  monkeypatch.setattr(sys, 'argv', [
      'kubeflow_v2_runner.py', '--output', spec_file, '--stage-data-to', CLOUD_PATHS['data_root'],
      '--pipeline-root', CLOUD_PATHS['pipeline_root'],
      '--serving-model-dir', CLOUD_PATHS['serving_model_dir']])
  kubeflow_v2_runner.main()

  local_pipeline, kubeflow_pipeline = built
  assert ([c.id for c in local_pipeline.components]
          == [c.id for c in kubeflow_pipeline.components])
  local_trainer = {c.id: c for c in local_pipeline.components}['Trainer']
  local_example_gen = {c.id: c for c in local_pipeline.components}['PosterExampleGen']
  with open(spec_file, encoding='utf-8') as f:
    spec = _pipeline_spec(json.load(f)['pipelineSpec'])
  # Epochs 7 and minimum genre count 2 reach both pipelines.
  local_trainer_config = json.loads(local_trainer.exec_properties['custom_config'])
  compiled_trainer_config = json.loads(_parameter(spec, 'Trainer', 'custom_config'))
  assert local_trainer_config == compiled_trainer_config
  assert compiled_trainer_config['epochs'] == 7
  assert local_example_gen.exec_properties['min_genre_count'] == 2
  assert int(_parameter(spec, 'PosterExampleGen', 'min_genre_count')) == 2


def test_container_config_leaves_metadata_to_the_orchestrator():
  config = kubeflow_v2_runner.container_config(_config())
  assert not config.metadata_path
  assert pipeline.create_pipeline(config).metadata_connection_config is None
  assert config.beam_setup_file == f'{configs.IMAGE_SOURCE_DIR}/setup.py'
  # The committed schema is read inside the image, where the Dockerfile copies the checkout.
  assert config.schema_file == f'{configs.IMAGE_SOURCE_DIR}/pipeline/schema/schema.pbtxt'


def test_compiling_without_an_image_is_a_clear_error(tmp_path):
  config = _config(pipeline_image='')
  with pytest.raises(ValueError, match='POSTER_PIPELINE_IMAGE'):
    kubeflow_v2_runner.compile_pipeline(config, str(tmp_path / 'spec.json'))


def _run_runner(args, home):
  """kubeflow_v2_runner.py as users run it, from the checkout, with no POSTER_* variables and
  no Google Cloud credentials (HOME holds no gcloud configuration)."""
  environment = {k: v for k, v in os.environ.items()
                 if not k.startswith(('POSTER_', 'GOOGLE_', 'CLOUDSDK_'))}
  environment['HOME'] = str(home)
  return subprocess.run([sys.executable, 'kubeflow_v2_runner.py', '--pipeline-image', IMAGE,
                         *args], cwd=REPO, env=environment, capture_output=True, text=True)


def _cloud_args(**overrides) -> List[str]:
  values = {**CLOUD_PATHS, 'accepted_statistics_dir': f'{BUCKET}/accepted', **overrides}
  return [arg for name, value in values.items()
          for arg in ('--' + name.replace('_', '-'), value)]


@pytest.mark.parametrize('name', sorted(kubeflow_v2_runner.CLOUD_PATHS))
@pytest.mark.parametrize('target', sorted(kubeflow_v2_runner.TARGETS))
def test_a_local_path_is_refused_in_one_line_naming_the_setting(tmp_path, data_root, name,
                                                                target):
  local = data_root if name == 'data_root' else str(tmp_path / name)
  result = _run_runner(['--target', target, *_cloud_args(**{name: local})], tmp_path)
  assert result.returncode != 0
  assert result.stderr.strip() == (
      f"kubeflow_v2_runner.py: {name}={local!r} is not a gs:// URI "
      f"({knobs.env_name(name)}): the pipeline's cloud tasks cannot read this machine's "
      'files' + (' (or pass --stage-data-to gs://BUCKET/movie-classifier to copy it there)'
                 if name == 'data_root' else '') + '.')
  assert not os.path.exists(tmp_path / 'poster-genres.yaml')


def test_a_gs_data_root_without_credentials_fails_in_one_line(tmp_path):
  result = _run_runner(['--target', 'kfp', *_cloud_args()], tmp_path)
  assert result.returncode != 0
  assert result.stderr.strip() == (
      f"kubeflow_v2_runner.py: Reading {CLOUD_PATHS['data_root']}/Multi_Label_dataset/"
      'train.csv needs Google Cloud credentials, and none were found: run `gcloud auth '
      'application-default login` or set GOOGLE_APPLICATION_CREDENTIALS.')


def test_compiling_refuses_a_local_path_however_it_is_called(tmp_path):
  config = _config(serving_model_dir=str(tmp_path / 'serving'))
  with pytest.raises(knobs.SettingError, match='serving_model_dir=.* is not a gs:// URI'):
    kubeflow_v2_runner.compile_pipeline(config, str(tmp_path / 'spec.json'))


def test_a_local_data_root_is_staged_where_asked(tmp_path, data_root):
  config = _config(data_root=data_root)
  staged = kubeflow_v2_runner.cloud_data_root(config, stage_to=str(tmp_path / 'staged'))
  assert staged == str(tmp_path / 'staged')
  assert os.path.exists(os.path.join(staged, config.labels_file))


def test_submitting_without_a_project_is_a_clear_error(tmp_path):
  config = _config(gcp_project='')
  with pytest.raises(ValueError, match='POSTER_GCP_PROJECT'):
    kubeflow_v2_runner.submit(config, str(tmp_path / 'spec.json'), wait=False)


def test_the_kfp_target_through_the_command_line(tmp_path, monkeypatch):
  """`kubeflow_v2_runner.py --target kfp` end to end in process, the bucket taken as given:
  the YAML loads as kfp.Client loads it and passes the API server's checks."""
  monkeypatch.setattr(kubeflow_v2_runner, 'cloud_data_root', lambda config, stage_to: stage_to)
  for name in list(os.environ):
    if name.startswith('POSTER_'):
      monkeypatch.delenv(name)
  monkeypatch.setattr(sys, 'argv', [
      'kubeflow_v2_runner.py', '--target', 'kfp', '--pipeline-image', IMAGE,
      '--output-dir', str(tmp_path), '--stage-data-to', CLOUD_PATHS['data_root'],
      '--pipeline-root', CLOUD_PATHS['pipeline_root'],
      '--serving-model-dir', CLOUD_PATHS['serving_model_dir']])
  kubeflow_v2_runner.main()
  spec_file = str(tmp_path / 'poster-genres.yaml')
  loaded = kfp_client._extract_pipeline_yaml(spec_file)  # pylint: disable=protected-access
  with open(spec_file, encoding='utf-8') as f:
    spec_dict = yaml.safe_load(f)
  assert kfp_api_server_refusal(spec_dict) is None
  spec = _pipeline_spec(spec_dict)
  assert loaded.pipeline_spec == spec
  assert resolver_tasks(spec) == [] and stale_cache_tasks(spec) == []
  assert set(spec.root.dag.tasks) >= {'Evaluator', 'DataGate', 'Pusher'}


def test_a_bad_knob_fails_in_one_line_before_anything_is_imported(tmp_path):
  result = subprocess.run(
      [sys.executable, 'kubeflow_v2_runner.py', '--target', 'kfp', '--epochs', '0'],
      cwd=REPO, capture_output=True, text=True)
  assert result.returncode != 0
  assert result.stderr.strip() == (
      'kubeflow_v2_runner.py: epochs=0 is below its minimum 1 (POSTER_EPOCHS).')


@pytest.mark.parametrize('target', sorted(kubeflow_v2_runner.TARGETS))
def test_spans_compile_for_both_targets_without_a_resolver(tmp_path, target):
  """The window is SpanWindow's, found in its directory: no resolver on either target."""
  config = _config(spans=True, span_window=3)
  spec_file = str(tmp_path / ('spec' + kubeflow_v2_runner.TARGETS[target]))
  compiled = _compile(config, spec_file)
  spec_dict = compiled if target == 'kfp' else compiled['pipelineSpec']
  assert kfp_api_server_refusal(spec_dict) is None
  spec = _pipeline_spec(spec_dict)
  assert resolver_tasks(spec) == []
  assert stale_cache_tasks(spec) == ([] if target == 'kfp' else ['PosterExampleGen'])
  tasks = spec.root.dag.tasks
  assert {'PosterEmbedder', 'SpanWindow'} <= set(tasks)
  assert _parameter(spec, 'SpanWindow', 'window_dir') == f'{BUCKET}/pipeline-root/span_window'
  assert int(_parameter(spec, 'SpanWindow', 'num_spans')) == 3
  # The contract's genres, read inside the image like the schema.
  assert _parameter(spec, 'PosterExampleGen', 'vocabulary_file') == (
      f'{configs.IMAGE_SOURCE_DIR}/pipeline/schema/genre_vocabulary.txt')
  window_input = tasks['RareGenreOversampler'].inputs.artifacts['window']
  assert window_input.task_output_artifact.producer_task == 'SpanWindow'
  for consumer in ('Evaluator', 'TestEvaluator', 'SliceReport'):
    examples = tasks[consumer].inputs.artifacts['examples'].task_output_artifact
    assert (examples.producer_task, examples.output_artifact_key) == (
        'SpanWindow', 'window_examples'), consumer
