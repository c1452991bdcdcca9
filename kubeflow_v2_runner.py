"""Compiles the poster-genre pipeline for Vertex AI Pipelines / Kubeflow Pipelines 2.x.

    python kubeflow_v2_runner.py [--output FILE.json|FILE.yaml] [--stage-data-to gs://...]
                                 [--submit]

The pipeline is the one `local_runner.py` runs (`pipeline.create_pipeline`); only the
configuration differs, all of it from POSTER_* environment variables (pipeline/configs.py):
the image (POSTER_PIPELINE_IMAGE), a gs:// pipeline root, data root and serving directory,
the Beam runner (POSTER_BEAM_RUNNER=dataflow) and Vertex AI Training. `--submit` starts the
compiled pipeline on Vertex AI Pipelines with the environment's Google Cloud credentials.
"""
import argparse
import dataclasses
import os
import posixpath

from absl import logging

from pipeline import runtime_env

runtime_env.require_legacy_keras()

from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top

from pipeline import configs  # pylint: disable=g-import-not-at-top
from pipeline import data_source  # pylint: disable=g-import-not-at-top
from pipeline import data_staging  # pylint: disable=g-import-not-at-top
from pipeline import pipeline  # pylint: disable=g-import-not-at-top


def container_config(config: configs.PipelineConfig) -> configs.PipelineConfig:
  """`config` as the pipeline's containers see it.

  ML Metadata is the orchestrator's (Vertex AI or Kubeflow brings its own store, so the
  pipeline must name none); Beam installs the package from the copy of setup.py inside the
  image, and ImportSchemaGen reads the committed schema there, not on this machine.
  """
  def in_image(path: str) -> str:
    return posixpath.join(configs.IMAGE_SOURCE_DIR,
                          *os.path.relpath(path, configs.REPO_ROOT).split(os.sep))

  return dataclasses.replace(
      config, metadata_path=None, beam_setup_file=in_image(configs.BEAM_SETUP_FILE),
      schema_file=in_image(config.schema_file))


def compile_pipeline(config: configs.PipelineConfig, output_file: str) -> str:
  """Writes the KFP v2 pipeline spec of `config` to `output_file` (.json or .yaml).

  JSON holds a Vertex AI PipelineJob (spec plus pipeline root); YAML holds the bare
  PipelineSpec that the Kubeflow Pipelines 2.x UI and client upload. Compiling reads the
  labels file under the data root and writes the trainer and transform modules, packaged as
  wheels, to `<pipeline root>/_wheels`, where the tasks install them from.
  """
  if not config.pipeline_image:
    raise ValueError('Set POSTER_PIPELINE_IMAGE to the image built from the Dockerfile.')
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
          default_image=config.pipeline_image),
      output_dir=os.path.dirname(output_file) or None,  # None: the working directory.
      output_filename=os.path.basename(output_file))
  runner.run(pipeline.create_pipeline(container_config(config)))
  return output_file


def cloud_data_root(config: configs.PipelineConfig, stage_to: str) -> str:
  """A data root the pipeline's tasks can read: resolved, and staged to `stage_to` if given.

  A kagglehub handle resolves to a download on this machine, which cloud tasks cannot read:
  with a gs:// pipeline root, such a local data root must be staged to Cloud Storage.
  """
  root = data_source.resolve_data_root(config.data_root, config.labels_file)
  if stage_to:
    return data_staging.stage_dataset(root, stage_to, config.labels_file, config.images_dir)
  if data_source.is_remote_uri(config.pipeline_root) and not data_source.is_remote_uri(root):
    raise data_source.DataSourceError(
        f'The data root {root} is on this machine, which the pipeline\'s cloud tasks cannot '
        'read: pass --stage-data-to gs://BUCKET/movie-classifier or set POSTER_DATA_ROOT to '
        'a gs:// copy.')
  return root


def submit(config: configs.PipelineConfig, spec_file: str) -> None:
  """Starts the compiled pipeline on Vertex AI Pipelines (the client logs its console link)."""
  if not config.gcp_project:
    raise ValueError('Submitting to Vertex AI needs POSTER_GCP_PROJECT.')
  if not config.pipeline_root.startswith('gs://'):
    raise ValueError('Vertex AI keeps artifacts in Cloud Storage: set POSTER_PIPELINE_ROOT to '
                     f'a gs:// URI (it is {config.pipeline_root}).')
  from google.cloud import aiplatform  # pylint: disable=g-import-not-at-top
  aiplatform.init(project=config.gcp_project, location=config.gcp_region)
  job = aiplatform.PipelineJob(display_name=config.pipeline_name, template_path=spec_file,
                               pipeline_root=config.pipeline_root)
  job.submit(service_account=config.vertex_pipeline_service_account or None)


def _parse_args() -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--output', help='Pipeline spec file (.json or .yaml). Default: '
                      f'{configs.OUTPUT_DIR}/<pipeline name>.json.')
  parser.add_argument('--stage-data-to', default='',
                      help='Copy the (resolved) data root here first and read it from there, '
                      'e.g. gs://BUCKET/movie-classifier.')
  parser.add_argument('--submit', action='store_true',
                      help='Run the compiled pipeline on Vertex AI Pipelines.')
  return parser.parse_args()


def main() -> None:
  args = _parse_args()
  logging.set_verbosity(logging.INFO)
  config = configs.PipelineConfig.from_env()
  config = dataclasses.replace(config, data_root=cloud_data_root(config, args.stage_data_to))
  output_file = args.output or os.path.join(configs.OUTPUT_DIR, f'{config.pipeline_name}.json')
  compile_pipeline(config, output_file)
  logging.info('Pipeline spec written to %s', output_file)
  if args.submit:
    submit(config, output_file)


if __name__ == '__main__':
  main()
