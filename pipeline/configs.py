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

# Transform (transform_module.py): model input size and conventions. Posters are about 2:3
# (300 px wide); a 3:2 height:width target with aspect-preserving padding barely pads them.
TRANSFORM_MODULE_FILE = os.path.join(REPO_ROOT, 'transform_module.py')
IMAGE_HEIGHT = 192
IMAGE_WIDTH = 128
RESIZE_POLICY = 'pad'  # 'pad', 'stretch' or 'crop'
NORMALIZATION = 'unit'  # 'unit' ([0, 1]) or 'symmetric' ((x - 127) / 128)

# Oversampling of rare genres in the train split only (components/oversampler/policy.py).
OVERSAMPLE_MAX_COPIES = 4
OVERSAMPLE_MAX_GROWTH = 3.0

# Trainer (trainer_module.py): the model and its training.
TRAINER_MODULE_FILE = os.path.join(REPO_ROOT, 'trainer_module.py')
MODEL_NAME = 'simple_cnn'
EPOCHS = 15
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
EARLY_STOPPING_PATIENCE = 3
# Decision rule, tuned on `eval` (models/thresholds.py): 'per_genre' or 'global' thresholds;
# every poster gets at least MIN_GENRES genres and, if MAX_GENRES is set, at most that many.
THRESHOLD_POLICY = 'per_genre'
MIN_GENRES = 1
MAX_GENRES: Optional[int] = None

# Evaluator gate, on the `eval` split: macro-averaged AUC-PR must reach the floor (the genre
# prior scores the mean genre frequency, about 0.06) and must not drop below the latest
# blessed model's by more than the allowed regression.
MIN_MACRO_PR_AUC = 0.10
MAX_MACRO_PR_AUC_REGRESSION = 0.0

# Beam: the DirectRunner in `in_memory` mode is much faster on a small machine than
# `multi_processing`, where every worker process re-imports TensorFlow.
BEAM_DIRECT_RUNNING_MODE = 'in_memory'
BEAM_DIRECT_NUM_WORKERS = 1
# Remote Beam workers (Dataflow) install the pipeline package from this file, which also gives
# them the TF_USE_LEGACY_KERAS start-up hook. Naming it also stops TFX from building and
# staging an ephemeral TFX sdist for every Beam component, which local runs do not need.
BEAM_SETUP_FILE = os.path.join(REPO_ROOT, 'setup.py')


def _env(name: str, default: str) -> str:
  return os.environ.get(name, default)


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
  image_height: int = IMAGE_HEIGHT
  image_width: int = IMAGE_WIDTH
  resize_policy: str = RESIZE_POLICY
  normalization: str = NORMALIZATION
  oversample_max_copies: int = OVERSAMPLE_MAX_COPIES
  oversample_max_growth: float = OVERSAMPLE_MAX_GROWTH
  trainer_module_file: str = TRAINER_MODULE_FILE
  model_name: str = MODEL_NAME
  epochs: int = EPOCHS
  batch_size: int = BATCH_SIZE
  learning_rate: float = LEARNING_RATE
  early_stopping_patience: int = EARLY_STOPPING_PATIENCE
  threshold_policy: str = THRESHOLD_POLICY
  min_genres: int = MIN_GENRES
  max_genres: Optional[int] = MAX_GENRES
  min_macro_pr_auc: float = MIN_MACRO_PR_AUC
  max_macro_pr_auc_regression: float = MAX_MACRO_PR_AUC_REGRESSION
  # Pushed models land in <serving_model_dir>/<version>/, only when blessed.
  serving_model_dir: str = os.path.join(OUTPUT_DIR, 'serving_model', PIPELINE_NAME)
  beam_direct_running_mode: str = BEAM_DIRECT_RUNNING_MODE
  beam_direct_num_workers: int = BEAM_DIRECT_NUM_WORKERS
  # Extra Beam arguments, e.g. DataflowRunner settings; appended after the direct-runner ones.
  extra_beam_args: List[str] = dataclasses.field(default_factory=list)
  enable_cache: bool = True

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
        epochs=int(_env('POSTER_EPOCHS', str(base.epochs))),
        min_genre_count=int(_env('POSTER_MIN_GENRE_COUNT', str(base.min_genre_count))),
        beam_direct_running_mode=_env('POSTER_BEAM_DIRECT_RUNNING_MODE',
                                      base.beam_direct_running_mode),
        beam_direct_num_workers=int(_env('POSTER_BEAM_DIRECT_NUM_WORKERS',
                                         str(base.beam_direct_num_workers))),
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)

  @property
  def transform_config(self) -> dict:
    """The `custom_config` that preprocessing_fn reads."""
    return {'image_height': self.image_height, 'image_width': self.image_width,
            'resize_policy': self.resize_policy, 'normalization': self.normalization}

  def trainer_config(self, num_genres: int) -> dict:
    """The Trainer's `custom_config` (see trainer_module.py)."""
    return {'model_name': self.model_name, 'num_genres': num_genres, 'epochs': self.epochs,
            'batch_size': self.batch_size, 'learning_rate': self.learning_rate,
            'early_stopping_patience': self.early_stopping_patience,
            'threshold_policy': self.threshold_policy, 'min_genres': self.min_genres,
            'max_genres': self.max_genres}

  @property
  def gate(self) -> dict:
    return {'min_macro_pr_auc': self.min_macro_pr_auc,
            'max_macro_pr_auc_regression': self.max_macro_pr_auc_regression}

  @property
  def beam_pipeline_args(self) -> List[str]:
    return [
        f'--direct_running_mode={self.beam_direct_running_mode}',
        f'--direct_num_workers={self.beam_direct_num_workers}',
        f'--setup_file={BEAM_SETUP_FILE}',
        *self.extra_beam_args,
    ]
