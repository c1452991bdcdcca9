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
# 'train_and_serve' (also average each poster's scores with its mirror image's).
FLIP = 'train_and_serve'
# Fine-tuning the backbone's top blocks end to end after the head (0: frozen). Meant for GPU
# runs (e.g. the Vertex AI Trainer); on a CPU it multiplies the training time.
UNFREEZE_TOP_BLOCKS = 0
FINE_TUNE_EPOCHS = 5
FINE_TUNE_LEARNING_RATE = 1e-4
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
        epochs=int(os.environ['POSTER_EPOCHS']) if 'POSTER_EPOCHS' in os.environ else None,
        loss=_env('POSTER_LOSS', base.loss),
        flip=_env('POSTER_FLIP', base.flip),
        min_genre_count=int(_env('POSTER_MIN_GENRE_COUNT', str(base.min_genre_count))),
        beam_direct_running_mode=_env('POSTER_BEAM_DIRECT_RUNNING_MODE',
                                      base.beam_direct_running_mode),
        beam_direct_num_workers=int(_env('POSTER_BEAM_DIRECT_NUM_WORKERS',
                                         str(base.beam_direct_num_workers))),
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

  @property
  def transform_config(self) -> dict:
    """The `custom_config` that preprocessing_fn reads."""
    return {'image_height': self._or_preset('image_height'),
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
