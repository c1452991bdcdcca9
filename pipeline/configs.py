"""Every knob of the poster-genre pipeline, in one place.

Defaults suit `python local_runner.py` on this repository's machine; each can be overridden
by an environment variable (named beside it) or, for the local runner, by a flag. Runners
build a `PipelineConfig` and hand it to `pipeline.create_pipeline`; nothing else reads the
environment.
"""
import dataclasses
import os
from typing import List, Mapping, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PIPELINE_NAME = 'poster-genres'

# Dataset root in the Kaggle layout: a local directory, a gs:// URI, or a kagglehub handle
# such as `raman77768/movie-classifier` (resolved online; see pipeline/data_source.py).
DATA_ROOT = os.path.normpath(os.path.join(REPO_ROOT, '..', 'shared', 'data',
                                          'movie-classifier'))
# Outputs, all gitignored: artifacts, the ML Metadata store, pushed models.
OUTPUT_DIR = os.path.join(REPO_ROOT, 'tfx_pipeline_output')

LABELS_FILE = 'Multi_Label_dataset/train.csv'
IMAGES_DIR = 'Multi_Label_dataset/Images'
IMAGE_EXTENSION = '.jpg'

# Relative split sizes (hash buckets of the image-content digest): about 80/10/10.
SPLIT_BUCKETS = {'train': 8, 'eval': 1, 'test': 1}
# Genres with fewer usable posters are not learned (drops Reality-TV on the Kaggle data).
MIN_GENRE_COUNT = 10

# Transform (transform_module.py): how a poster becomes model input. Posters are about 2:3
# (300 px wide); a 3:2 height:width target with aspect-preserving padding barely pads them.
TRANSFORM_MODULE_FILE = os.path.join(REPO_ROOT, 'transform_module.py')
RESIZE_POLICY = 'pad'  # 'pad', 'stretch' or 'crop'


@dataclasses.dataclass(frozen=True)
class ModelPreset:
  """What a model needs from the Transform and its default training length."""
  image_height: int
  image_width: int
  normalization: str  # 'unit' ([0, 1]) or 'symmetric' ((x - 127) / 128, ImageNet Lite)
  epochs: int
  learning_rate: float


# Trainer models (trainer_module.MODELS). EfficientNet-Lite was trained on ImageNet at 224 px
# (Lite0) and 260 px (Lite2) squares; 288x192 and 336x224 keep about that many pixels at
# the posters' 3:2 shape. Their epochs and learning rate are the head's (the backbone is
# frozen); the simple CNN is the research notebook's, trained from scratch.
MODEL_PRESETS = {
    'simple_cnn': ModelPreset(192, 128, 'unit', epochs=15, learning_rate=1e-3),
    'efficientnet_lite0': ModelPreset(288, 192, 'symmetric', epochs=60, learning_rate=1e-3),
    'efficientnet_lite2': ModelPreset(336, 224, 'symmetric', epochs=60, learning_rate=1e-3),
}

# Oversampling of rare genres in the train split only (components/oversampler/policy.py).
OVERSAMPLE_MAX_COPIES = 4
OVERSAMPLE_MAX_GROWTH = 3.0

# Trainer (trainer_module.py): the model and its training.
TRAINER_MODULE_FILE = os.path.join(REPO_ROOT, 'trainer_module.py')
MODEL_NAME = 'efficientnet_lite0'
BATCH_SIZE = 32
EARLY_STOPPING_PATIENCE = 3
# Models on a frozen backbone (models/transfer.py): the head trained on its embeddings.
HEAD_HIDDEN_UNITS = 512  # 0: a linear head (logistic regression per genre)
HEAD_DROPOUT = 0.5
HEAD_EARLY_STOPPING_PATIENCE = 8
# Imbalance (models/losses.py): 'bce', 'pos_weight', 'focal' or 'asymmetric'; on top of the
# oversampler (set OVERSAMPLE_MAX_COPIES = 1 to switch that off). See BENCHMARKS.md.
LOSS = 'bce'
# Horizontal flips: 'none', 'train' (mirrored posters as extra training examples) or
# 'train_and_serve' (also average each poster's scores with its mirror image's). Averaging
# at serving time did not measurably help on `eval` (bench/ablation.py) and doubles the
# serving cost, so the mirror images only train.
FLIP = 'train'
# Fine-tuning the backbone's top blocks end to end after the head (0: frozen). Meant for GPU
# runs (e.g. the Vertex AI Trainer); on a CPU it multiplies the training time.
UNFREEZE_TOP_BLOCKS = 0
FINE_TUNE_EPOCHS = 5
FINE_TUNE_LEARNING_RATE = 1e-4
# Decision rule, tuned on `eval` (models/thresholds.py): 'per_genre' or 'global' thresholds;
# every poster gets at least MIN_GENRES genres and, if MAX_GENRES is set, at most that many.
THRESHOLD_POLICY = 'per_genre'
MIN_GENRES = 1
MAX_GENRES: Optional[int] = 3

# Evaluator gate, on the `eval` split (pipeline/eval_config.py; README "The push gate").
# Macro-averaged AUC-PR must reach the floor (the genre prior scores the mean genre
# frequency, about 0.06) and must not fall below the latest blessed model's by more than the
# macro tolerance. Every judged genre's AUC-PR must beat its chance level (its prevalence on
# `eval`, the AP of a constant score) and must not fall below the blessed model's by more
# than GENRE_DROP_SCALE / sqrt(its expected eval positives). A genre is judged when it has
# at least GATE_MIN_GENRE_POSTERS labelled posters (about 30 expected on `eval`); on fewer,
# one poster's rank moves its AP by more than a real loss would. The tolerances come from
# retraining the default with 5 seeds (bench/gate_tolerance.py, BENCHMARKS.md): they sit
# above the largest drop seen there (macro 0.015, and 0.015 on a full retrain with seed 1;
# per genre up to 0.74 / sqrt(n)).
MIN_MACRO_PR_AUC = 0.10
MAX_MACRO_PR_AUC_REGRESSION = 0.025
GENRE_DROP_SCALE = 0.9
GATE_MIN_GENRE_POSTERS = 300

# Data contract (pipeline/schema/, components/data_gate/): the curated schema every drop is validated
# against, and whether anomalies stop the run before Transform (the default) or are only
# reported. Regenerate a candidate for review with `python -m pipeline.schema_candidate`.
SCHEMA_FILE = os.path.join(REPO_ROOT, 'pipeline', 'schema', 'schema.pbtxt')
ALLOW_ANOMALIES = False
# Posters smaller than this on either side are excluded at ingest (too small to show a
# genre after resizing to the model's input; real posters are at least 89 px wide).
MIN_POSTER_SIDE = 32

# Beam: the DirectRunner in `in_memory` mode is much faster on a small machine than
# `multi_processing`, where every worker process re-imports TensorFlow.
BEAM_DIRECT_RUNNING_MODE = 'in_memory'
BEAM_DIRECT_NUM_WORKERS = 1
# Remote Beam workers (Dataflow) install the pipeline package from this file, which also gives
# them the TF_USE_LEGACY_KERAS start-up hook. Naming it also stops TFX from building and
# staging an ephemeral TFX sdist for every Beam component, which local runs do not need.
BEAM_SETUP_FILE = os.path.join(REPO_ROOT, 'setup.py')


# --- Orchestration and cloud: Kubeflow / Vertex AI Pipelines, Dataflow, Vertex AI Training ---
# Only configuration changes between a local run and a cloud run; the pipeline definition is the
# same. No credentials live here: Google Cloud clients find them in the environment
# (Application Default Credentials: `gcloud auth application-default login` or the runtime's
# service account).
GCP_PROJECT = ''  # POSTER_GCP_PROJECT
GCP_REGION = 'us-central1'  # POSTER_GCP_REGION
# The image built from the Dockerfile: runs every Kubeflow / Vertex AI task, the Vertex AI
# Training job and, by default, the Dataflow workers. POSTER_PIPELINE_IMAGE.
PIPELINE_IMAGE = ''
# Where the Dockerfile puts this repository inside that image (its WORKDIR).
IMAGE_SOURCE_DIR = '/pipeline'
# Beam runner of every Beam-based component (PosterExampleGen, StatisticsGen, Transform,
# RareGenreOversampler, Evaluators): 'direct' (in process, the local default) or 'dataflow'.
BEAM_RUNNERS = ('direct', 'dataflow')
BEAM_RUNNER = 'direct'  # POSTER_BEAM_RUNNER
# Dataflow: staging and temp files (default <pipeline root>/beam-tmp, must be gs://), workers.
DATAFLOW_TEMP_LOCATION = ''  # POSTER_DATAFLOW_TEMP_LOCATION
DATAFLOW_MACHINE_TYPE = 'n1-standard-4'  # POSTER_DATAFLOW_MACHINE_TYPE
DATAFLOW_MAX_NUM_WORKERS = 10  # POSTER_DATAFLOW_MAX_NUM_WORKERS
# How Dataflow workers get this package: 'image' runs them in PIPELINE_IMAGE, which already
# holds it and every dependency; 'setup_file' installs it from setup.py on each worker.
DATAFLOW_WORKER_SETUPS = ('image', 'setup_file')
DATAFLOW_WORKER_SETUP = 'image'  # POSTER_DATAFLOW_WORKER_SETUP
# Service account of the Dataflow workers; empty: the project's Compute Engine default.
DATAFLOW_SERVICE_ACCOUNT = ''  # POSTER_DATAFLOW_SERVICE_ACCOUNT
# Train on Vertex AI Training (a CustomJob in PIPELINE_IMAGE) instead of inside the pipeline
# task; an accelerator type such as NVIDIA_TESLA_T4 adds GPUs, empty trains on CPU.
VERTEX_TRAINING = False  # POSTER_VERTEX_TRAINING (1/0)
VERTEX_TRAINING_MACHINE_TYPE = 'n1-standard-8'  # POSTER_VERTEX_TRAINING_MACHINE_TYPE
VERTEX_TRAINING_ACCELERATOR_TYPE = ''  # POSTER_VERTEX_TRAINING_ACCELERATOR_TYPE
VERTEX_TRAINING_ACCELERATOR_COUNT = 1  # POSTER_VERTEX_TRAINING_ACCELERATOR_COUNT
# Service account Vertex AI Pipelines runs the pipeline as; empty: the Compute Engine default.
VERTEX_PIPELINE_SERVICE_ACCOUNT = ''  # POSTER_VERTEX_PIPELINE_SERVICE_ACCOUNT


@dataclasses.dataclass(frozen=True)
class GateConfig:
  """The push gate's criteria (see the constants above)."""
  min_macro_pr_auc: float
  max_macro_pr_auc_regression: float
  genre_drop_scale: float
  min_genre_posters: int


def _env(name: str, default: str) -> str:
  return os.environ.get(name, default)


def _env_flag(name: str, default: bool) -> bool:
  value = os.environ.get(name)
  if value is None:
    return default
  if value.strip().lower() not in ('1', 'true', 'yes', '0', 'false', 'no', ''):
    raise ValueError(f'{name}={value!r}: use 1 or 0.')
  return value.strip().lower() in ('1', 'true', 'yes')


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  """The values one pipeline run is built from."""
  pipeline_name: str = PIPELINE_NAME
  data_root: str = DATA_ROOT
  pipeline_root: str = os.path.join(OUTPUT_DIR, PIPELINE_NAME)
  # SQLite ML Metadata store for local runs; orchestrators bring their own.
  metadata_path: Optional[str] = os.path.join(OUTPUT_DIR, 'metadata', PIPELINE_NAME,
                                              'metadata.db')
  labels_file: str = LABELS_FILE
  images_dir: str = IMAGES_DIR
  image_extension: str = IMAGE_EXTENSION
  split_buckets: Mapping[str, int] = dataclasses.field(
      default_factory=lambda: dict(SPLIT_BUCKETS))
  min_genre_count: int = MIN_GENRE_COUNT
  transform_module_file: str = TRANSFORM_MODULE_FILE
  # None: the model's preset (MODEL_PRESETS).
  image_height: Optional[int] = None
  image_width: Optional[int] = None
  resize_policy: str = RESIZE_POLICY
  normalization: Optional[str] = None
  oversample_max_copies: int = OVERSAMPLE_MAX_COPIES
  oversample_max_growth: float = OVERSAMPLE_MAX_GROWTH
  trainer_module_file: str = TRAINER_MODULE_FILE
  model_name: str = MODEL_NAME
  epochs: Optional[int] = None  # None: the model's preset
  batch_size: int = BATCH_SIZE
  learning_rate: Optional[float] = None  # None: the model's preset
  early_stopping_patience: int = EARLY_STOPPING_PATIENCE
  head_hidden_units: int = HEAD_HIDDEN_UNITS
  head_dropout: float = HEAD_DROPOUT
  head_early_stopping_patience: int = HEAD_EARLY_STOPPING_PATIENCE
  loss: str = LOSS
  flip: str = FLIP
  unfreeze_top_blocks: int = UNFREEZE_TOP_BLOCKS
  fine_tune_epochs: int = FINE_TUNE_EPOCHS
  fine_tune_learning_rate: float = FINE_TUNE_LEARNING_RATE
  threshold_policy: str = THRESHOLD_POLICY
  min_genres: int = MIN_GENRES
  max_genres: Optional[int] = MAX_GENRES
  min_macro_pr_auc: float = MIN_MACRO_PR_AUC
  max_macro_pr_auc_regression: float = MAX_MACRO_PR_AUC_REGRESSION
  genre_drop_scale: float = GENRE_DROP_SCALE
  gate_min_genre_posters: int = GATE_MIN_GENRE_POSTERS
  schema_file: str = SCHEMA_FILE
  allow_anomalies: bool = ALLOW_ANOMALIES
  min_poster_side: int = MIN_POSTER_SIDE
  # Seed of the Trainer's initialisation and shuffling (a retrain with another seed is how
  # the gate's tolerances were measured).
  seed: int = 0
  # Pushed models land in <serving_model_dir>/<version>/, only when blessed.
  serving_model_dir: str = os.path.join(OUTPUT_DIR, 'serving_model', PIPELINE_NAME)
  beam_direct_running_mode: str = BEAM_DIRECT_RUNNING_MODE
  beam_direct_num_workers: int = BEAM_DIRECT_NUM_WORKERS
  # Extra Beam arguments, e.g. DataflowRunner settings; appended after the direct-runner ones.
  extra_beam_args: List[str] = dataclasses.field(default_factory=list)
  enable_cache: bool = True
  # Orchestration and cloud (see the block of constants above).
  gcp_project: str = GCP_PROJECT
  gcp_region: str = GCP_REGION
  pipeline_image: str = PIPELINE_IMAGE
  beam_runner: str = BEAM_RUNNER
  # setup.py that Beam installs the package from; inside the image for containerized runs.
  beam_setup_file: str = BEAM_SETUP_FILE
  dataflow_temp_location: str = DATAFLOW_TEMP_LOCATION
  dataflow_machine_type: str = DATAFLOW_MACHINE_TYPE
  dataflow_max_num_workers: int = DATAFLOW_MAX_NUM_WORKERS
  dataflow_worker_setup: str = DATAFLOW_WORKER_SETUP
  dataflow_service_account: str = DATAFLOW_SERVICE_ACCOUNT
  vertex_training: bool = VERTEX_TRAINING
  vertex_training_machine_type: str = VERTEX_TRAINING_MACHINE_TYPE
  vertex_training_accelerator_type: str = VERTEX_TRAINING_ACCELERATOR_TYPE
  vertex_training_accelerator_count: int = VERTEX_TRAINING_ACCELERATOR_COUNT
  vertex_pipeline_service_account: str = VERTEX_PIPELINE_SERVICE_ACCOUNT

  @classmethod
  def from_env(cls, **overrides) -> 'PipelineConfig':
    """Defaults, then POSTER_* environment variables, then explicit overrides."""
    base = cls()
    output_dir = _env('POSTER_OUTPUT_DIR', OUTPUT_DIR)
    pipeline_name = _env('POSTER_PIPELINE_NAME', base.pipeline_name)
    values = dict(
        pipeline_name=pipeline_name,
        data_root=_env('POSTER_DATA_ROOT', base.data_root),
        pipeline_root=_env('POSTER_PIPELINE_ROOT', os.path.join(output_dir, pipeline_name)),
        metadata_path=_env('POSTER_METADATA_PATH',
                           os.path.join(output_dir, 'metadata', pipeline_name,
                                        'metadata.db')),
        serving_model_dir=_env('POSTER_SERVING_MODEL_DIR',
                               os.path.join(output_dir, 'serving_model', pipeline_name)),
        model_name=_env('POSTER_MODEL_NAME', base.model_name),
        epochs=int(os.environ['POSTER_EPOCHS']) if 'POSTER_EPOCHS' in os.environ else None,
        loss=_env('POSTER_LOSS', base.loss),
        flip=_env('POSTER_FLIP', base.flip),
        seed=int(_env('POSTER_SEED', str(base.seed))),
        allow_anomalies=_env_flag('POSTER_ALLOW_ANOMALIES', base.allow_anomalies),
        min_genre_count=int(_env('POSTER_MIN_GENRE_COUNT', str(base.min_genre_count))),
        beam_direct_running_mode=_env('POSTER_BEAM_DIRECT_RUNNING_MODE',
                                      base.beam_direct_running_mode),
        beam_direct_num_workers=int(_env('POSTER_BEAM_DIRECT_NUM_WORKERS',
                                         str(base.beam_direct_num_workers))),
        # Orchestration and cloud.
        gcp_project=_env('POSTER_GCP_PROJECT', base.gcp_project),
        gcp_region=_env('POSTER_GCP_REGION', base.gcp_region),
        pipeline_image=_env('POSTER_PIPELINE_IMAGE', base.pipeline_image),
        beam_runner=_env('POSTER_BEAM_RUNNER', base.beam_runner),
        dataflow_temp_location=_env('POSTER_DATAFLOW_TEMP_LOCATION',
                                    base.dataflow_temp_location),
        dataflow_machine_type=_env('POSTER_DATAFLOW_MACHINE_TYPE', base.dataflow_machine_type),
        dataflow_max_num_workers=int(_env('POSTER_DATAFLOW_MAX_NUM_WORKERS',
                                          str(base.dataflow_max_num_workers))),
        dataflow_worker_setup=_env('POSTER_DATAFLOW_WORKER_SETUP', base.dataflow_worker_setup),
        dataflow_service_account=_env('POSTER_DATAFLOW_SERVICE_ACCOUNT',
                                      base.dataflow_service_account),
        vertex_training=_env_flag('POSTER_VERTEX_TRAINING', base.vertex_training),
        vertex_training_machine_type=_env('POSTER_VERTEX_TRAINING_MACHINE_TYPE',
                                          base.vertex_training_machine_type),
        vertex_training_accelerator_type=_env('POSTER_VERTEX_TRAINING_ACCELERATOR_TYPE',
                                              base.vertex_training_accelerator_type),
        vertex_training_accelerator_count=int(_env(
            'POSTER_VERTEX_TRAINING_ACCELERATOR_COUNT',
            str(base.vertex_training_accelerator_count))),
        vertex_pipeline_service_account=_env('POSTER_VERTEX_PIPELINE_SERVICE_ACCOUNT',
                                             base.vertex_pipeline_service_account),
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)

  @property
  def preset(self) -> ModelPreset:
    if self.model_name not in MODEL_PRESETS:
      raise ValueError(f'Unknown model {self.model_name!r}; choose one of '
                       f'{sorted(MODEL_PRESETS)}.')
    return MODEL_PRESETS[self.model_name]

  def _or_preset(self, name: str):
    """The field `name` where set, else the model preset's value."""
    value = getattr(self, name)
    return getattr(self.preset, name) if value is None else value

  def transform_config(self, num_genres: int) -> dict:
    """The `custom_config` that preprocessing_fn reads."""
    return {'num_genres': num_genres, 'image_height': self._or_preset('image_height'),
            'image_width': self._or_preset('image_width'),
            'resize_policy': self.resize_policy,
            'normalization': self._or_preset('normalization')}

  def trainer_config(self, num_genres: int) -> dict:
    """The Trainer's `custom_config` (see trainer_module.py)."""
    return {'model_name': self.model_name, 'num_genres': num_genres,
            'epochs': self._or_preset('epochs'), 'batch_size': self.batch_size,
            'learning_rate': self._or_preset('learning_rate'),
            'early_stopping_patience': self.early_stopping_patience,
            'head_hidden_units': self.head_hidden_units, 'head_dropout': self.head_dropout,
            'head_early_stopping_patience': self.head_early_stopping_patience,
            'loss': self.loss, 'flip': self.flip,
            'unfreeze_top_blocks': self.unfreeze_top_blocks,
            'fine_tune_epochs': self.fine_tune_epochs,
            'fine_tune_learning_rate': self.fine_tune_learning_rate,
            'threshold_policy': self.threshold_policy, 'min_genres': self.min_genres,
            'max_genres': self.max_genres, 'seed': self.seed}

  @property
  def gate(self) -> GateConfig:
    return GateConfig(min_macro_pr_auc=self.min_macro_pr_auc,
                      max_macro_pr_auc_regression=self.max_macro_pr_auc_regression,
                      genre_drop_scale=self.genre_drop_scale,
                      min_genre_posters=self.gate_min_genre_posters)

  @property
  def beam_pipeline_args(self) -> List[str]:
    """Beam arguments of every Beam-based component: the DirectRunner, or Dataflow."""
    if self.beam_runner not in BEAM_RUNNERS:
      raise ValueError(f'Beam runner {self.beam_runner!r} (POSTER_BEAM_RUNNER) is not one of '
                       f'{BEAM_RUNNERS}.')
    if self.beam_runner == 'dataflow':
      return [*self._dataflow_args(), *self.extra_beam_args]
    return [
        f'--direct_running_mode={self.beam_direct_running_mode}',
        f'--direct_num_workers={self.beam_direct_num_workers}',
        f'--setup_file={self.beam_setup_file}',
        *self.extra_beam_args,
    ]

  def _dataflow_args(self) -> List[str]:
    """DataflowRunner arguments; a missing setting is an error here, not a failed job later."""
    missing = [env for env, value in (('POSTER_GCP_PROJECT', self.gcp_project),
                                      ('POSTER_GCP_REGION', self.gcp_region)) if not value]
    if missing:
      raise ValueError(f'The Dataflow runner needs {" and ".join(missing)}.')
    temp_location = self.dataflow_temp_location or (
        f'{self.pipeline_root.rstrip("/")}/beam-tmp'
        if self.pipeline_root.startswith('gs://') else '')
    if not temp_location.startswith('gs://'):
      raise ValueError('The Dataflow runner needs a gs:// temp location: set '
                       'POSTER_DATAFLOW_TEMP_LOCATION or a gs:// POSTER_PIPELINE_ROOT.')
    if self.dataflow_worker_setup not in DATAFLOW_WORKER_SETUPS:
      raise ValueError(f'Dataflow worker setup {self.dataflow_worker_setup!r} '
                       f'(POSTER_DATAFLOW_WORKER_SETUP) is not one of {DATAFLOW_WORKER_SETUPS}.')
    args = [
        '--runner=DataflowRunner',
        f'--project={self.gcp_project}',
        f'--region={self.gcp_region}',
        f'--temp_location={temp_location}',
        f'--machine_type={self.dataflow_machine_type}',
        f'--max_num_workers={self.dataflow_max_num_workers}',
    ]
    if self.dataflow_worker_setup == 'image':
      if not self.pipeline_image:
        raise ValueError('Dataflow workers in the pipeline image need POSTER_PIPELINE_IMAGE '
                         '(or POSTER_DATAFLOW_WORKER_SETUP=setup_file).')
      # `container`: the Beam SDK comes from the image instead of being staged.
      args += [f'--sdk_container_image={self.pipeline_image}', '--sdk_location=container']
    else:
      args.append(f'--setup_file={self.beam_setup_file}')
    if self.dataflow_service_account:
      args.append(f'--service_account_email={self.dataflow_service_account}')
    return args
