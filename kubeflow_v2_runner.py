"""Compiles the poster-genre pipeline for Vertex AI Pipelines or Kubeflow Pipelines 2.x.

    python kubeflow_v2_runner.py [--target vertex|kfp] [--output FILE] [--stage-data-to gs://...]
                                 [--submit [--wait]] [--KNOB VALUE] ...

The pipeline is the one `local_runner.py` runs (`pipeline.create_pipeline`); only the
configuration differs: every knob of pipeline/configs.py is a flag here and a POSTER_*
environment variable (the image, a gs:// pipeline root, data root and serving directory,
the Beam runner, Vertex AI Training). Both targets compile the same pipeline, which has no
resolver node:
  vertex  a Vertex AI PipelineJob (JSON: the spec and its pipeline root); `--submit` starts
          it on Vertex AI Pipelines with the environment's Google Cloud credentials, and
          `--wait` follows it to its end.
  kfp     the bare PipelineSpec (YAML) that the open-source Kubeflow Pipelines 2.x UI and
          client upload.
Spans (continuous training) need resolver functions, which neither compiles: they run with
local_runner.py.
"""
import argparse
import dataclasses
import os
import posixpath
import sys
from typing import List, Optional

# Settings import neither TensorFlow nor TFX: arguments are parsed and every knob validated
# before those slow imports.
from models import config as settings
from pipeline import configs
from pipeline import data_source

TARGETS = {'vertex': '.json', 'kfp': '.yaml'}


def container_config(config: configs.PipelineConfig) -> configs.PipelineConfig:
  """`config` as the pipeline's containers see it.

  ML Metadata is the orchestrator's (Vertex AI or Kubeflow brings its own store, so the
  pipeline must name none: ''); Beam installs the package from the copy of setup.py inside the
  image, and ImportSchemaGen reads the committed schema there, not on this machine.
  """
  def in_image(path: str) -> str:
    return posixpath.join(configs.IMAGE_SOURCE_DIR,
                          *os.path.relpath(path, configs.REPO_ROOT).split(os.sep))

  return dataclasses.replace(
      config, metadata_path='', beam_setup_file=in_image(config.beam_setup_file),
      schema_file=in_image(config.schema_file))


def compile_pipeline(config: configs.PipelineConfig, output_file: str) -> str:
  """Writes the KFP v2 pipeline spec of `config` to `output_file` (.json or .yaml).

  JSON holds a Vertex AI PipelineJob (spec plus pipeline root); YAML holds the bare
  PipelineSpec that the Kubeflow Pipelines 2.x UI and client upload. Compiling reads no
  data and writes nothing else: tasks run the code installed in the image.
  """
  if config.spans:
    # The window is a resolver function over earlier runs' artifacts: the Kubeflow V2
    # compiler takes no resolved channel as an input (tfx/orchestration/kubeflow/v2/
    # step_builder.py), and open-source Kubeflow Pipelines runs no resolver at all
    # (docs/continuous_training.md, section 3).
    raise settings.SettingError(
        'Spans (POSTER_SPANS) run with local_runner.py only: Vertex AI and Kubeflow '
        'Pipelines cannot resolve a window of earlier spans. Compile without spans; each '
        'run then ingests the whole data root.')
  if not config.cloud.pipeline_image:
    raise settings.SettingError('Set POSTER_PIPELINE_IMAGE (--pipeline-image) to the image '
                                'built from the Dockerfile.')
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  from pipeline import pipeline  # pylint: disable=g-import-not-at-top
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
          default_image=config.cloud.pipeline_image),
      output_dir=os.path.dirname(output_file) or None,  # None: the working directory.
      output_filename=os.path.basename(output_file))
  runner.run(pipeline.create_pipeline(container_config(config)))
  return output_file


def cloud_data_root(config: configs.PipelineConfig, stage_to: str) -> str:
  """A data root the pipeline's tasks can read: resolved, and staged to `stage_to` if given.

  A kagglehub handle resolves to a download on this machine, which cloud tasks cannot read:
  with a gs:// pipeline root, such a local data root must be staged to Cloud Storage.
  """
  root = data_source.resolve_data_root(config.data_root, config.labels_pattern)
  if stage_to:
    from pipeline import data_staging  # pylint: disable=g-import-not-at-top
    return data_staging.stage_dataset(root, stage_to, config.labels_file, config.images_dir)
  if data_source.is_remote_uri(config.pipeline_root) and not data_source.is_remote_uri(root):
    raise data_source.DataSourceError(
        f'The data root {root} is on this machine, which the pipeline\'s cloud tasks cannot '
        'read: pass --stage-data-to gs://BUCKET/movie-classifier or set POSTER_DATA_ROOT to '
        'a gs:// copy.')
  return root


def submit(config: configs.PipelineConfig, spec_file: str, wait: bool) -> None:
  """Starts the compiled pipeline on Vertex AI Pipelines (the client logs its console link);
  with `wait`, follows it to its end and fails if the run does."""
  cloud = config.cloud
  if not cloud.gcp_project:
    raise settings.SettingError('Submitting to Vertex AI needs POSTER_GCP_PROJECT '
                                '(--gcp-project).')
  if not config.pipeline_root.startswith('gs://'):
    raise settings.SettingError('Vertex AI keeps artifacts in Cloud Storage: set '
                                'POSTER_PIPELINE_ROOT (--pipeline-root) to a gs:// URI (it is '
                                f'{config.pipeline_root}).')
  from google.cloud import aiplatform  # pylint: disable=g-import-not-at-top
  aiplatform.init(project=cloud.gcp_project, location=cloud.gcp_region)
  job = aiplatform.PipelineJob(display_name=config.pipeline_name, template_path=spec_file,
                               pipeline_root=config.pipeline_root)
  job.submit(service_account=cloud.vertex_pipeline_service_account or None)
  if wait:
    job.wait()  # Polls the run's state; raises if it fails or is cancelled.


def _parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
  parser = settings.FlagParser(description=__doc__,
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
  settings.add_flags(parser, configs.PipelineConfig)
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
        **settings.flag_overrides(args, configs.PipelineConfig))
  except settings.SettingError as error:
    sys.exit(f'kubeflow_v2_runner.py: {error}')
  try:
    config = dataclasses.replace(config, data_root=cloud_data_root(config, args.stage_data_to))
  except data_source.DataSourceError as error:
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
    compile_pipeline(config, output_file)
    logging.info('Pipeline spec (%s) written to %s', args.target, output_file)
    if args.submit:
      submit(config, output_file, args.wait)
  except settings.SettingError as error:
    sys.exit(f'kubeflow_v2_runner.py: {error}')


if __name__ == '__main__':
  main()
