"""The custom components run through TFX's Kubeflow V2 container entry points, as on Vertex AI
and on open-source Kubeflow Pipelines.

The orchestrator's part is played here by `_launch`. It reads the compiled spec and, like the
Vertex AI / KFP launcher, fills the ExecutorInput for `{{$}}`: parameters, typed input
artifacts, and output artifact URIs. Then it runs the task's container command in process:
on Vertex AI the preCacheCheck driver and then the executor; on Kubeflow Pipelines, whose
backend never runs the hook, the executor alone. The spec is compiled for a bucket; the
launcher reads the posters from this machine instead (its `input_base`), as a task would read
them from the bucket. The standard TFX components are TFX's own business; the custom ones
(PosterExampleGen with its IngestSummary artifact, RareGenreOversampler) are ours, and this
is where their Kubeflow compatibility is checked without a cluster.
"""
import json
import os

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
import pytest
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor
from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver as example_gen_driver
import yaml

import kubeflow_v2_runner
from components.poster_example_gen import summary as ingest_summary
from contract import vocabulary as genre_vocabulary
from pipeline import configs
from tests import synthetic

KFP_EXECUTOR = 'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor'
KFP_EXAMPLE_GEN_DRIVER = 'tfx.orchestration.kubeflow.v2.file_based_example_gen.driver'


@pytest.fixture(scope='module', params=sorted(kubeflow_v2_runner.TARGETS))
def compiled(request, tmp_path_factory):
  """(target, local root, local data root, PipelineSpec) compiled for 30 synthetic posters."""
  root = tmp_path_factory.mktemp(request.param)
  data_root = synthetic.learnable_dataset(str(root / 'data'), 30)
  config = configs.PipelineConfig.of(
      data_root='gs://poster-bucket/movie-classifier',
      pipeline_root='gs://poster-bucket/pipeline-root',
      serving_model_dir='gs://poster-bucket/serving',
      pipeline_image='poster-genres:test', min_genre_count=1,
      # No frozen backbone, so no PosterEmbedder: the oversampler reads ingest's examples,
      # and launching it needs no Transform task before it.
      model_name='simple_cnn')
  spec_file = kubeflow_v2_runner.compile_pipeline(
      config, str(root / ('spec' + kubeflow_v2_runner.TARGETS[request.param])), request.param)
  with open(spec_file, encoding='utf-8') as f:
    spec_dict = json.load(f)['pipelineSpec'] if spec_file.endswith('.json') else yaml.safe_load(f)
  return (request.param, str(root / 'pipeline-root'), data_root,
          json_format.ParseDict(spec_dict, pipeline_spec_pb2.PipelineSpec()))


def _launch(spec: pipeline_spec_pb2.PipelineSpec, target: str, pipeline_root: str,
            task_name: str, upstream_outputs: dict, local_parameters: dict) -> dict:
  """Runs one task as its container would on `target`; returns its ExecutorOutput as a dict.
  `local_parameters` replace the spec's cloud paths."""
  task = spec.root.dag.tasks[task_name]
  component = spec.components[task.component_ref.name]
  task_root = os.path.join(pipeline_root, task_name)
  inputs = {}
  for key, artifact in task.inputs.artifacts.items():
    producer = artifact.task_output_artifact
    runtime_artifacts = upstream_outputs[producer.producer_task]['artifacts'][
        producer.output_artifact_key]['artifacts']
    artifact_type = json_format.MessageToDict(component.input_definitions.artifacts[key]
                                              .artifact_type)
    inputs[key] = {'artifacts': [{**a, 'type': artifact_type} for a in runtime_artifacts]}
  outputs = {
      key: {'artifacts': [{'name': f'{task_name}-{key}', 'uri': os.path.join(task_root, key),
                           'type': json_format.MessageToDict(definition.artifact_type)}]}
      for key, definition in component.output_definitions.artifacts.items()}
  parameters = {name: json_format.MessageToDict(parameter.runtime_value.constant)
                for name, parameter in task.inputs.parameters.items()}
  executor_input = json.dumps({
      'inputs': {'parameterValues': {
          name: local_parameters.get(name, value) for name, value in parameters.items()},
                 'artifacts': inputs},
      'outputs': {'artifacts': outputs,
                  'outputFile': os.path.join(task_root, 'executor_output.json')}})

  container = spec.deployment_spec['executors'][component.executor_label]['container']
  if 'lifecycle' in container and target == 'vertex':
    pre_cache_check = container['lifecycle']['preCacheCheck']
    assert list(pre_cache_check['command']) == ['python', '-m', KFP_EXAMPLE_GEN_DRIVER]
    example_gen_driver.main(example_gen_driver._parse_flags(  # pylint: disable=protected-access
        ['driver'] + [arg.replace('{{$}}', executor_input) for arg in pre_cache_check['args']]))
  assert list(container['command']) == ['python', '-m', KFP_EXECUTOR]
  args, beam_args = kubeflow_v2_run_executor._parse_flags(  # pylint: disable=protected-access
      ['executor'] + [arg.replace('{{$}}', executor_input) for arg in container['args']])
  kubeflow_v2_run_executor._run_executor(args, beam_args)  # pylint: disable=protected-access
  with open(os.path.join(task_root, 'executor_output.json'), encoding='utf-8') as f:
    return json.load(f)


@pytest.fixture(scope='module')
def launched(compiled):
  target, pipeline_root, data_root, spec = compiled
  outputs = {}
  for task_name in ('PosterExampleGen', 'RareGenreOversampler'):
    outputs[task_name] = _launch(spec, target, pipeline_root, task_name, outputs,
                                 {'input_base': data_root})
  return outputs


def _single(output: dict, key: str) -> dict:
  [artifact] = output['artifacts'][key]['artifacts']
  return artifact


def test_example_gen_summarizes_through_its_custom_artifact(launched):
  summary_artifact = _single(launched['PosterExampleGen'], 'ingest_summary')
  summary = ingest_summary.read_summary(summary_artifact['uri'])
  assert summary['kept_total'] + summary['excluded_total'] == summary['csv_rows'] == 30
  assert summary_artifact['metadata']['kept_total'] == summary['kept_total']
  examples = _single(launched['PosterExampleGen'], 'examples')
  assert json.loads(examples['metadata']['split_names']) == ['train', 'eval', 'test']
  assert list(genre_vocabulary.read_vocabulary(examples['uri'])) == summary['vocabulary']


def test_oversampler_reads_the_upstream_examples_and_writes_its_own(launched):
  oversampled = _single(launched['RareGenreOversampler'], 'oversampled_examples')
  examples = _single(launched['PosterExampleGen'], 'examples')
  assert (genre_vocabulary.read_vocabulary(oversampled['uri'])
          == genre_vocabulary.read_vocabulary(examples['uri']))
  for split in ('train', 'eval', 'test'):
    assert os.listdir(os.path.join(oversampled['uri'], f'Split-{split}'))
  assert oversampled['metadata']['train_growth'] >= 1.0


def test_example_gen_ingests_the_newest_span_without_the_driver(tmp_path):
  """Kubeflow Pipelines never runs the preCacheCheck driver: the executor resolves the span."""
  data_root = tmp_path / 'drops'
  columns = synthetic.shared_genre_columns()  # The contract's genres are columns of every span.
  for span, posters in ((0, 12), (1, 8)):
    ids = [f'tt{span}{i:03d}' for i in range(posters)]
    synthetic.write_dataset(
        str(data_root / f'span-{span}'),
        [synthetic.csv_row(poster_id, ['Drama'], columns) for poster_id in ids],
        {poster_id: synthetic.poster_bytes(seed=100 * span + i) for i, poster_id in enumerate(ids)},
        columns=columns)
  config = configs.PipelineConfig.of(
      data_root='gs://poster-bucket/drops', pipeline_root='gs://poster-bucket/pipeline-root',
      serving_model_dir='gs://poster-bucket/serving', pipeline_image='poster-genres:test',
      spans=True)
  spec_file = kubeflow_v2_runner.compile_pipeline(config, str(tmp_path / 'spec.yaml'), 'kfp')
  with open(spec_file, encoding='utf-8') as f:
    spec = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
  output = _launch(spec, 'kfp', str(tmp_path / 'pipeline-root'), 'PosterExampleGen', {},
                   {'input_base': str(data_root),
                    'vocabulary_file': configs.PipelineConfig().genre_vocabulary_file})
  summary = ingest_summary.read_summary(_single(output, 'ingest_summary')['uri'])
  assert summary['csv_rows'] == 8  # Span 1's rows only.
  assert _single(output, 'examples')['metadata']['span'] == 1
