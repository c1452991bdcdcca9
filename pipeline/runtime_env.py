"""Checks that the process runs with Keras 2, as TFX 1.16, tf.Transform and TFMA need.

The variable itself is set by the `tf_legacy_keras.pth` start-up hook that this package
installs (see setup.py); this module only fails early and clearly when that is missing.
"""
import os
import sys


def require_legacy_keras() -> None:
  if os.environ.get('TF_USE_LEGACY_KERAS') != '1':
    sys.exit('TF_USE_LEGACY_KERAS=1 is not set: TFX 1.16 needs Keras 2. Run inside the '
             'project environment (bash scripts/setup_env.sh installs the package, whose '
             'start-up hook sets it), or export TF_USE_LEGACY_KERAS=1.')
