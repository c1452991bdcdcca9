"""Every knob of the poster-genre pipeline, each declared once, as a dataclass field.

`PipelineConfig` holds the data, output and Beam settings, and whole dataclasses for the
rest: `TrainerConfig` and `TransformConfig` (models/settings.py), `GateConfig`
(components/evaluator/gate_config.py) and `CloudConfig` (below). Every knob is also a
`POSTER_<NAME>` environment variable and a `--<name>` flag of the runners
(`knobs.add_flags`); `PipelineConfig.from_env` builds the whole tree and validates
it, in the launching process, before anything slow is imported or any component runs.
Runners hand the config to `pipeline.create_pipeline`; nothing else reads the environment.

No TensorFlow or TFX here, so `--help` and a bad value answer at once.
"""
import dataclasses
import os
from typing import Any, List, Mapping, Optional

from components.evaluator.gate_config import GateConfig
from components.oversampler import policy as oversampling
from contract.layout import IMAGE_EXTENSION, IMAGES_DIR, LABELS_FILE  # pylint: disable=g-multiple-import
import knobs
from knobs import knob
from knobs import SettingError
from models.settings import TrainerConfig
from models.settings import TransformConfig

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the Dockerfile puts this repository inside the pipeline image (its WORKDIR).
IMAGE_SOURCE_DIR = '/pipeline'

# With spans on, drops live under the data root as span-<N>/ in the same layout; `{SPAN}` is
# TFX's span placeholder, which PosterExampleGen's driver resolves to the newest span.
SPAN_DIR = 'span-{SPAN}'
# Relative split sizes (hash buckets of the image-content digest): about 80/10/10.
SPLIT_BUCKETS = {'train': 8, 'eval': 1, 'test': 1}

BEAM_RUNNERS = ('direct', 'dataflow')
DIRECT_RUNNING_MODES = ('in_memory', 'multi_threading', 'multi_processing')
# Beam's DirectRunner defaults (DirectOptions; tests/test_cloud_config.py holds Beam to them):
# in this process, one worker.
BEAM_DEFAULT_RUNNING_MODE = 'in_memory'
BEAM_DEFAULT_NUM_WORKERS = 1
DATAFLOW_WORKER_SETUPS = ('image', 'setup_file')


def _nested(cls):
  return dataclasses.field(default_factory=cls)


@dataclasses.dataclass(frozen=True)
class TaskResources:
  """CPU, memory and accelerators of the heavy tasks on Kubeflow Pipelines and Vertex AI.

  Compiled into each task's container resources (the spec's `ResourceSpec`), which Vertex AI
  turns into a machine and Kubeflow Pipelines' driver into the pod's requests and limits;
  tasks not named here get the cluster's defaults. Local runs have no per-task resources.
  With Dataflow on, the Beam tasks only submit and watch their jobs, so their figures can stay
  small; with Vertex AI Training on, the Trainer task waits for its CustomJob and takes
  neither the trainer figures nor the accelerator.
  """
  beam_task_cpu: float = knob(2.0, 'vCPUs of PosterExampleGen, StatisticsGen, Transform '
                              'and RareGenreOversampler.', minimum=0.5)
  beam_task_memory_gb: float = knob(4.0, 'Memory (GB) of those tasks: the whole local run '
                                    'of the full data peaks under 3 GB.', minimum=0.5)
  trainer_cpu: float = knob(4.0, 'vCPUs of the Trainer and PosterEmbedder (the backbone).',
                            minimum=0.5)
  trainer_memory_gb: float = knob(8.0, 'Memory (GB) of the Trainer and PosterEmbedder.',
                                  minimum=0.5)
  trainer_accelerator_type: str = knob(
      '', 'Accelerator of the Trainer and PosterEmbedder tasks: a Vertex AI type such as '
      'NVIDIA_TESLA_T4, or on Kubeflow Pipelines the Kubernetes resource, such as '
      'nvidia.com/gpu; empty: CPU only.')
  trainer_accelerator_count: int = knob(1, 'Accelerators of each of those tasks.', minimum=1)
  evaluator_cpu: float = knob(4.0, 'vCPUs of the Evaluator and TestEvaluator (TFMA).',
                              minimum=0.5)
  evaluator_memory_gb: float = knob(8.0, 'Memory (GB) of the Evaluator and TestEvaluator: '
                                    'TFMA holds both models and every slice.', minimum=0.5)

  def __post_init__(self):
    knobs.validate(self)


@dataclasses.dataclass(frozen=True)
class CloudConfig:
  """Cloud settings: Kubeflow / Vertex AI Pipelines, Dataflow, Vertex AI Training.

  Only configuration changes between a local run and a cloud run; the pipeline is the same.
  No credentials live here: Google Cloud clients find them in the environment (Application
  Default Credentials: `gcloud auth application-default login` or the runtime's service
  account).
  """
  gcp_project: str = knob('', 'Google Cloud project.')
  gcp_region: str = knob('us-central1', 'Google Cloud region.')
  pipeline_image: str = knob(
      '', 'Image built from the Dockerfile: runs every Kubeflow / Vertex AI task, the Vertex '
      'AI Training job and, by default, the Dataflow workers.')
  beam_runner: str = knob('direct', 'Beam runner of every Beam-based component: in process, '
                          'or Dataflow.', choices=BEAM_RUNNERS)
  dataflow_temp_location: str = knob('', 'gs:// staging and temp location of Dataflow; '
                                     'empty: <pipeline root>/beam-tmp.')
  dataflow_machine_type: str = knob('n1-standard-4', 'Dataflow worker machine type.')
  dataflow_max_num_workers: int = knob(10, 'Most Dataflow workers.', minimum=1)
  dataflow_worker_setup: str = knob(
      'image', 'How Dataflow workers get this package: image runs them in the pipeline '
      'image, setup_file installs it from setup.py on each worker.',
      choices=DATAFLOW_WORKER_SETUPS)
  dataflow_service_account: str = knob('', 'Service account of the Dataflow workers; '
                                       'empty: the project\'s Compute Engine default.')
  vertex_training: bool = knob(False, 'Train on Vertex AI Training (a CustomJob in the '
                               'pipeline image) instead of inside the pipeline task.')
  vertex_training_machine_type: str = knob('n1-standard-8', 'Vertex AI Training machine.')
  vertex_training_accelerator_type: str = knob(
      '', 'Accelerator of Vertex AI Training, such as NVIDIA_TESLA_T4; empty: CPU only.')
  vertex_training_accelerator_count: int = knob(1, 'Accelerators of Vertex AI Training.',
                                                minimum=1)
  vertex_pipeline_service_account: str = knob(
      '', 'Service account Vertex AI Pipelines runs as; empty: the Compute Engine default.')
  resources: TaskResources = _nested(TaskResources)

  def __post_init__(self):
    knobs.validate(self)
    needed = ('gcp_project', 'gcp_region', 'pipeline_image')
    missing = [knobs.env_name(name) for name in needed if not getattr(self, name)]
    if self.vertex_training and missing:
      raise SettingError(f'Vertex AI Training needs {" and ".join(missing)}.')


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  """Data, outputs and Beam; with the Trainer, Transform, gate and cloud settings."""
  pipeline_name: str = knob('poster-genres', 'Pipeline name: names its outputs and runs.')
  # A local directory, a gs:// URI, or a kagglehub handle (pipeline/data_source.py).
  data_root: str = knob(
      os.path.normpath(os.path.join(REPO_ROOT, '..', 'shared', 'data', 'movie-classifier')),
      'Dataset in the Kaggle layout: a directory, a gs:// URI, or a kagglehub handle such as '
      'raman77768/movie-classifier (downloaded; needs network).')
  output_dir: str = knob(os.path.join(REPO_ROOT, 'tfx_pipeline_output'),
                         'Where the pipeline root, metadata and serving directory go unless '
                         'each is given.')
  pipeline_root: Optional[str] = knob(None, 'Where artifacts go; none: '
                                      '<output dir>/<pipeline name>.')
  # SQLite ML Metadata store of local runs; '' for orchestrators, which bring their own.
  metadata_path: Optional[str] = knob(None, 'SQLite ML Metadata file of local runs; none: '
                                      '<output dir>/metadata/<pipeline name>/metadata.db.')
  serving_model_dir: Optional[str] = knob(
      None, 'Where blessed models are pushed (<dir>/<version>/); its newest version is the '
      'baseline the push gate compares with. None: <output dir>/serving_model/<pipeline '
      'name>.')
  accepted_statistics_dir: Optional[str] = knob(
      None, 'Where the data gate keeps the statistics of the last accepted data, the drift '
      'baseline; none: <pipeline root>/accepted_statistics.')
  labels_file: str = LABELS_FILE
  images_dir: str = IMAGES_DIR
  spans: bool = knob(False, 'Continuous training: the data root holds drops as span-<N>/ '
                     'directories in the Kaggle layout; a run ingests the newest span only, '
                     'reuses the embeddings of earlier spans, and trains and evaluates on the '
                     'window of spans.')
  span_window: int = knob(0, 'With spans: how many of the newest spans the oversampler, the '
                          'Trainer and the Evaluators see; 0: all spans.', minimum=0)
  span_window_dir: Optional[str] = knob(
      None, 'With spans: where SpanWindow keeps the window of spans from one run to the next; '
      'none: <pipeline root>/span_window.')
  image_extension: str = IMAGE_EXTENSION
  split_buckets: Mapping[str, int] = dataclasses.field(
      default_factory=lambda: dict(SPLIT_BUCKETS))
  min_genre_count: int = knob(10, 'Genres with fewer labelled posters are left out of the '
                              'vocabulary (drops Reality-TV on the Kaggle data).', minimum=1)
  min_poster_side: int = knob(32, 'Posters smaller on either side are excluded at ingest '
                              '(real posters are at least 89 px wide).', minimum=1)
  # The curated data contract every drop is validated against (pipeline/schema/); regenerate a
  # candidate for review with `python -m pipeline.schema_candidate`.
  schema_file: str = os.path.join(REPO_ROOT, 'pipeline', 'schema', 'schema.pbtxt')
  # The genres of every span once drops arrive: part of the contract, like the schema
  # (docs/continuous_training.md, section 2); a single-span run decides them from its data.
  genre_vocabulary_file: str = os.path.join(REPO_ROOT, 'pipeline', 'schema',
                                            'genre_vocabulary.txt')
  allow_anomalies: bool = knob(False, 'Go on when the data break the committed schema or '
                               'drift beyond its thresholds (still recorded); default: stop.')
  oversample_max_copies: int = knob(oversampling.DEFAULT_MAX_COPIES, 'Most copies of one '
                                    'train poster the oversampler makes (1: no '
                                    'oversampling).', minimum=1)
  oversample_max_growth: float = knob(oversampling.DEFAULT_MAX_GROWTH, 'Most the oversampler '
                                      'grows the train split.', minimum=1.0)
  # In-process Beam: `in_memory` is much faster on a small machine than `multi_processing`,
  # where every worker process imports TensorFlow again.
  beam_direct_running_mode: str = knob(BEAM_DEFAULT_RUNNING_MODE, 'DirectRunner mode.',
                                       choices=DIRECT_RUNNING_MODES)
  beam_direct_num_workers: int = knob(BEAM_DEFAULT_NUM_WORKERS, 'DirectRunner workers. With '
                                      '2 multi_threading workers on the full data, Beam lost '
                                      'written records (a run now stops on that) and TFMA ran '
                                      'out of memory (BENCHMARKS.md).', minimum=1)
  # Beam installs the package from this file on Dataflow workers, and where Beam arguments are
  # given at all (beam_pipeline_args says why not by default).
  beam_setup_file: str = os.path.join(REPO_ROOT, 'setup.py')
  # The Transform's and the Trainer's entry points, by import path: tasks run the code
  # installed in their image, the same code that built the pipeline.
  preprocessing_fn: str = 'transform_module.preprocessing_fn'
  run_fn: str = 'trainer_module.run_fn'
  # Extra Beam arguments, appended after the runner's own.
  extra_beam_args: List[str] = dataclasses.field(default_factory=list)
  enable_cache: bool = knob(True, 'Reuse cached component results.')
  trainer: TrainerConfig = _nested(TrainerConfig)
  transform: TransformConfig = _nested(TransformConfig)
  gate: GateConfig = _nested(GateConfig)
  cloud: CloudConfig = _nested(CloudConfig)

  def __post_init__(self):
    knobs.validate(self)
    derived = {
        'pipeline_root': os.path.join(self.output_dir, self.pipeline_name),
        'metadata_path': os.path.join(self.output_dir, 'metadata', self.pipeline_name,
                                      'metadata.db'),
        'serving_model_dir': os.path.join(self.output_dir, 'serving_model',
                                          self.pipeline_name),
    }
    for name, value in derived.items():
      if getattr(self, name) is None:
        object.__setattr__(self, name, value)
    for name, directory in (('accepted_statistics_dir', 'accepted_statistics'),
                            ('span_window_dir', 'span_window')):
      if getattr(self, name) is None:
        object.__setattr__(self, name, os.path.join(self.pipeline_root, directory))
    if self.spans and not self.trainer.frozen_backbone:
      raise SettingError('Spans reuse each poster\'s embedding from a frozen backbone: '
                         f'model {self.trainer.model_name} has none (use an '
                         'efficientnet_lite model).')
    if self.cloud.beam_runner == 'dataflow':
      self._dataflow_args()  # A missing setting is an error now, not a failed job later.

  @classmethod
  def from_env(cls, environ: Mapping[str, str] = os.environ,
               **overrides: Any) -> 'PipelineConfig':
    """Defaults, then POSTER_* environment variables, then non-None `overrides` (any knob of
    the tree by its field name, e.g. `head_members=5`)."""
    return knobs.from_env(cls, environ, overrides)

  @classmethod
  def of(cls, **values: Any) -> 'PipelineConfig':
    """Defaults and `values` (any knob of the tree by its field name), no environment."""
    return knobs.from_env(cls, {}, values)

  @property
  def labels_pattern(self) -> str:
    """The labels file under the data root; with spans, of every span (`{SPAN}`)."""
    return f'{SPAN_DIR}/{self.labels_file}' if self.spans else self.labels_file

  @property
  def images_pattern(self) -> str:
    return f'{SPAN_DIR}/{self.images_dir}' if self.spans else self.images_dir

  @property
  def transform_custom_config(self) -> dict:
    """The Transform's settings, completed from the model's preset."""
    return knobs.as_custom_config(self.transform.for_model(self.trainer.model_name))

  @property
  def beam_pipeline_args(self) -> List[str]:
    """Beam arguments of every Beam-based component: the DirectRunner, or Dataflow."""
    if self.cloud.beam_runner == 'dataflow':
      return [*self._dataflow_args(), *self.extra_beam_args]
    # None by default: Beam's own defaults are the in-process runner the knobs default to.
    # Given any argument, TFX packs its whole install into an sdist for every Beam executor
    # unless a setup file is named, and Beam builds the named one for every pipeline: seconds
    # a run, and a temporary directory left behind each time (BENCHMARKS.md, "Continuous
    # training"). Only a non-default runner pays that, with the setup file (the cheaper).
    args = []
    if self.beam_direct_running_mode != BEAM_DEFAULT_RUNNING_MODE:
      args.append(f'--direct_running_mode={self.beam_direct_running_mode}')
    if self.beam_direct_num_workers != BEAM_DEFAULT_NUM_WORKERS:
      args.append(f'--direct_num_workers={self.beam_direct_num_workers}')
    args += self.extra_beam_args
    return [*args, f'--setup_file={self.beam_setup_file}'] if args else []

  def _dataflow_args(self) -> List[str]:
    cloud = self.cloud
    missing = [knobs.env_name(name) for name in ('gcp_project', 'gcp_region')
               if not getattr(cloud, name)]
    if missing:
      raise SettingError(f'The Dataflow runner needs {" and ".join(missing)}.')
    temp_location = cloud.dataflow_temp_location or (
        f'{self.pipeline_root.rstrip("/")}/beam-tmp'
        if self.pipeline_root.startswith('gs://') else '')
    if not temp_location.startswith('gs://'):
      raise SettingError('The Dataflow runner needs a gs:// temp location: set '
                         'POSTER_DATAFLOW_TEMP_LOCATION or a gs:// POSTER_PIPELINE_ROOT.')
    args = [
        '--runner=DataflowRunner',
        f'--project={cloud.gcp_project}',
        f'--region={cloud.gcp_region}',
        f'--temp_location={temp_location}',
        f'--machine_type={cloud.dataflow_machine_type}',
        f'--max_num_workers={cloud.dataflow_max_num_workers}',
    ]
    if cloud.dataflow_worker_setup == 'image':
      if not cloud.pipeline_image:
        raise SettingError('Dataflow workers in the pipeline image need '
                           'POSTER_PIPELINE_IMAGE (or POSTER_DATAFLOW_WORKER_SETUP=setup_file).')
      # `container`: the Beam SDK comes from the image instead of being staged.
      args += [f'--sdk_container_image={cloud.pipeline_image}', '--sdk_location=container']
    else:
      args.append(f'--setup_file={self.beam_setup_file}')
    if cloud.dataflow_service_account:
      args.append(f'--service_account_email={cloud.dataflow_service_account}')
    return args
