"""The runners' process environment: Keras 2, as TFX 1.16, tf.Transform and TFMA need, and
no known noise.

TF_USE_LEGACY_KERAS is set by the `tf_legacy_keras.pth` start-up hook that this package
installs (see setup.py); this module only fails early and clearly when that is missing.
"""
import os
import sys
import warnings


def require_legacy_keras() -> None:
  if os.environ.get('TF_USE_LEGACY_KERAS') != '1':
    sys.exit('TF_USE_LEGACY_KERAS=1 is not set: TFX 1.16 needs Keras 2. Run inside the '
             'project environment (bash scripts/setup_env.sh installs the package, whose '
             'start-up hook sets it), or export TF_USE_LEGACY_KERAS=1.')


def quiet_known_noise() -> None:
  """Silences what every run prints and nobody acts on; real warnings stay. Call before
  TensorFlow is imported."""
  # TensorFlow's C++ INFO lines (CPU feature notices); its warnings and errors stay.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
  # One per Google API module on Python 3.10: the stack is pinned to it (TFX 1.16).
  warnings.filterwarnings('ignore', category=FutureWarning, module=r'google\.')
  # TFMA divides by zero counts for genres with no positive in a slice; the metric is NaN
  # and the report says so.
  warnings.filterwarnings('ignore', message='invalid value encountered in divide',
                          category=RuntimeWarning)
