"""Compiles the poster-genre pipeline for Vertex AI Pipelines or Kubeflow Pipelines 2.x.

    python kubeflow_v2_runner.py [--target vertex|kfp] [--output FILE] [--stage-data-to gs://...]
                                 [--submit [--wait]] [--KNOB VALUE] ...

The pipeline is the one `local_runner.py` runs (`pipeline.create_pipeline`); only the
configuration differs: every knob of pipeline/configs.py is a flag here and a POSTER_*
environment variable (the image, a gs:// pipeline root, data root and serving directory,
the Beam runner, Vertex AI Training, the heavy tasks' resources). Both targets compile the
same pipeline, with no resolver node, into a pipeline spec of schema version 2.1.0:
  vertex  a Vertex AI PipelineJob (JSON: the spec and its pipeline root); `--submit` starts
          it on Vertex AI Pipelines with the environment's Google Cloud credentials, and
          `--wait` follows it to its end.
  kfp     the bare PipelineSpec (YAML) that the open-source Kubeflow Pipelines 2.x UI and
          client upload; the ingest task is never served from KFP's cache (see
          `uncache_unfingerprinted_tasks`).
The pipeline root, data root, serving directory, accepted-statistics and span-window
directories must be gs:// URIs: the tasks run in the cloud and cannot read this machine's
files.
With spans on (continuous training), each run ingests the newest span and SpanWindow adds
it to the window the previous run published in the span-window directory: no resolver, on
either target (components/span_window/).
"""
import argparse
import dataclasses
import json
import os
import posixpath
import sys
from typing import List, Optional, Sequence

import yaml

# Settings import neither TensorFlow nor TFX: arguments are parsed and every knob validated
# before those slow imports.
import knobs
from pipeline import configs
from pipeline import data_source

TARGETS = {'vertex': '.json', 'kfp': '.yaml'}
# The Kubeflow Pipelines API server accepts only this schema version (kubeflow/pipelines,
# backend/src/apiserver/template/v2_template.go: "KFP only supports schema version 2.1.0");
# Vertex AI runs it too (the KFP 2 SDK compiles it, and google-cloud-aiplatform's
# PipelineRuntimeConfigBuilder reads its `parameterValues`), so both targets compile it.
SCHEMA_VERSION = '2.1.0'
# Settings the cloud tasks read or write as paths: a gs:// URI each.
CLOUD_PATHS = ('pipeline_root', 'serving_model_dir', 'accepted_statistics_dir',
               'span_window_dir', 'data_root')


def require_cloud_paths(config: configs.PipelineConfig,
                        names: Sequence[str] = CLOUD_PATHS) -> None:
  """Refuses, in one line naming the setting, a path of `names` that is not a gs:// URI."""
  for name in names:
    value = getattr(config, name)
    if not value.startswith('gs://'):
      hint = (' (or pass --stage-data-to gs://BUCKET/movie-classifier to copy it there)'
              if name == 'data_root' else '')
      raise knobs.SettingError(
          f'{name}={value!r} is not a gs:// URI ({knobs.env_name(name)}): the pipeline\'s '
          f'cloud tasks cannot read this machine\'s files{hint}.')


def container_config(config: configs.PipelineConfig) -> configs.PipelineConfig:
  """`config` as the pipeline's containers see it.

  ML Metadata is the orchestrator's (Vertex AI or Kubeflow brings its own store, so the
  pipeline must name none: ''); Beam installs the package from the copy of setup.py inside the
  image, and ImportSchemaGen and PosterExampleGen read the committed schema and genre
  vocabulary there, not on this machine.
  """
  def in_image(path: str) -> str:
    return posixpath.join(configs.IMAGE_SOURCE_DIR,
                          *os.path.relpath(path, configs.REPO_ROOT).split(os.sep))

  return dataclasses.replace(
      config, metadata_path='', beam_setup_file=in_image(config.beam_setup_file),
      schema_file=in_image(config.schema_file),
      genre_vocabulary_file=in_image(config.genre_vocabulary_file))


def uncache_unfingerprinted_tasks(spec: dict) -> List[str]:
  """Turns caching off, in a PipelineSpec dict, for tasks whose cache key needs their
  preCacheCheck hook; returns their names.

  TFX gives a FileBasedExampleGen (PosterExampleGen) a `lifecycle.preCacheCheck`: its driver
  fingerprints the input files and puts the fingerprint into the task's parameters before
  Vertex AI looks up its cache. Kubeflow Pipelines' backend never runs that hook, and keys its
  cache on the task's input artifact ids, parameters, command and image only
  (backend/src/v2/driver/cache.go, getFingerPrint): with caching on, new posters under the same
  data root would be served last run's examples. Without caching the task ingests every run;
  its examples are then a new artifact, so nothing downstream is served stale either.
  """
  executors = spec['deploymentSpec']['executors']
  uncached = []
  for name, task in spec['root']['dag']['tasks'].items():
    container = executors[spec['components'][task['componentRef']['name']]['executorLabel']]
    if 'preCacheCheck' in container.get('container', {}).get('lifecycle', {}):
      task.pop('cachingOptions', None)
      uncached.append(name)
  return sorted(uncached)


def _write_spec(job: dict, output_file: str) -> None:
  if output_file.endswith(('.yaml', '.yml')):
    text = yaml.safe_dump(job['pipelineSpec'], sort_keys=True)
  else:
    text = json.dumps(job, sort_keys=True)
  directory = os.path.dirname(output_file)
  if directory:
    os.makedirs(directory, exist_ok=True)
  with open(output_file, 'w', encoding='utf-8') as f:
    f.write(text)


def compile_pipeline(config: configs.PipelineConfig, output_file: str,
                     target: str = 'vertex') -> str:
  """Writes the KFP v2 pipeline spec of `config` for `target` to `output_file`.

  JSON holds a Vertex AI PipelineJob (spec plus pipeline root); YAML holds the bare
  PipelineSpec that the Kubeflow Pipelines 2.x UI and client upload. Compiling reads no
  data and writes nothing else: tasks run the code installed in the image.
  """
  require_cloud_paths(config)
  if not config.cloud.pipeline_image:
    raise knobs.SettingError('Set POSTER_PIPELINE_IMAGE (--pipeline-image) to the image '
                                'built from the Dockerfile.')
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  from pipeline import pipeline  # pylint: disable=g-import-not-at-top
  from pipeline import cloud  # pylint: disable=g-import-not-at-top
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
          default_image=config.cloud.pipeline_image,
          use_pipeline_spec_2_1=True))  # SCHEMA_VERSION
  job = runner.run(pipeline.create_pipeline(container_config(config)), write_out=False)
  cloud.set_task_resources(job['pipelineSpec'], config.cloud)
  if target == 'kfp':
    uncache_unfingerprinted_tasks(job['pipelineSpec'])
  _write_spec(job, output_file)
  return output_file


def cloud_data_root(config: configs.PipelineConfig, stage_to: str) -> str:
  """A data root the pipeline's tasks can read: resolved, and staged to `stage_to` if given.

  A kagglehub handle resolves to a download on this machine, which cloud tasks cannot read:
  such a local data root must be staged to Cloud Storage (compiling refuses it otherwise).
  A local data root to be staged is not checked as a cloud path; a gs:// one is read, so
  missing credentials or network end here, in one line.
  """
  if not stage_to:
    require_cloud_paths(config, ['data_root'])
  root = data_source.resolve_data_root(config.data_root, config.labels_pattern)
  if stage_to:
    from pipeline import data_staging  # pylint: disable=g-import-not-at-top
    return data_staging.stage_dataset(root, stage_to, config.labels_file, config.images_dir)
  return root


def submit(config: configs.PipelineConfig, spec_file: str, wait: bool) -> None:
  """Starts the compiled pipeline on Vertex AI Pipelines (the client logs its console link);
  with `wait`, follows it to its end and fails if the run does."""
  cloud = config.cloud
  if not cloud.gcp_project:
    raise knobs.SettingError('Submitting to Vertex AI needs POSTER_GCP_PROJECT '
                                '(--gcp-project).')
  from google.cloud import aiplatform  # pylint: disable=g-import-not-at-top
  aiplatform.init(project=cloud.gcp_project, location=cloud.gcp_region)
  job = aiplatform.PipelineJob(display_name=config.pipeline_name, template_path=spec_file,
                               pipeline_root=config.pipeline_root)
  job.submit(service_account=cloud.vertex_pipeline_service_account or None)
  if wait:
    job.wait()  # Polls the run's state; raises if it fails or is cancelled.


def _parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
  parser = knobs.FlagParser(description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--target', choices=sorted(TARGETS), default='vertex',
                      help='Where the compiled pipeline runs (see above). Default: vertex.')
  parser.add_argument('--output', help='Pipeline spec file. Default: <output dir>/'
                      '<pipeline name>.json (vertex) or .yaml (kfp).')
  parser.add_argument('--stage-data-to', default='',
                      help='Copy the (resolved) data root here first and read it from there, '
                      'e.g. gs://BUCKET/movie-classifier.')
  parser.add_argument('--submit', action='store_true',
                      help='Run the compiled pipeline on Vertex AI Pipelines (vertex target).')
  parser.add_argument('--wait', action='store_true',
                      help='With --submit: follow the run to its end; exit non-zero if it fails.')
  knobs.add_flags(parser, configs.PipelineConfig)
  args = parser.parse_args(argv)
  if args.submit and args.target != 'vertex':
    parser.error('--submit starts Vertex AI Pipelines runs: use --target vertex, or upload the '
                 'kfp spec with the Kubeflow Pipelines UI or client.')
  if args.wait and not args.submit:
    parser.error('--wait follows a submitted run: add --submit.')
  return args


def main() -> None:
  args = _parse_args()
  try:
    config = configs.PipelineConfig.from_env(
        **knobs.flag_overrides(args, configs.PipelineConfig))
  except knobs.SettingError as error:
    sys.exit(f'kubeflow_v2_runner.py: {error}')
  try:
    # Paths first: one line, before any data is read or TensorFlow imported.
    require_cloud_paths(config, [name for name in CLOUD_PATHS if name != 'data_root'])
    config = dataclasses.replace(config, data_root=cloud_data_root(config, args.stage_data_to))
  except (knobs.SettingError, data_source.DataSourceError) as error:
    sys.exit(f'kubeflow_v2_runner.py: {error}')
  # pylint: disable=g-import-not-at-top
  from pipeline import runtime_env
  runtime_env.require_legacy_keras()
  from absl import logging
  # pylint: enable=g-import-not-at-top
  logging.set_verbosity(logging.INFO)
  try:
    output_file = args.output or os.path.join(config.output_dir,
                                              config.pipeline_name + TARGETS[args.target])
    compile_pipeline(config, output_file, args.target)
    logging.info('Pipeline spec (%s) written to %s', args.target, output_file)
    if args.submit:
      submit(config, output_file, args.wait)
  except knobs.SettingError as error:
    sys.exit(f'kubeflow_v2_runner.py: {error}')


if __name__ == '__main__':
  main()
