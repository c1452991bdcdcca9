"""Packages the movie-poster genre pipeline.

Beam workers on Dataflow (`--setup_file`) and the Kubeflow / Vertex AI image install the
pipeline code from this file. Dependencies are declared here from
`requirements/requirements.in`; every real install uses the committed, fully pinned
`requirements/lock.txt` with `pip install --no-deps` (see scripts/setup_env.sh).
"""
import os

import setuptools
from setuptools.command.build_py import build_py

_HERE = os.path.dirname(os.path.abspath(__file__))

# The one place where TF_USE_LEGACY_KERAS=1 is settled. TF 2.16 ships Keras 3, which
# tf.Transform and TFMA cannot handle (TFMA then silently evaluates the model as a plain
# SavedModel); the variable must be set before TensorFlow is first imported. A `.pth` file in
# site-packages runs at interpreter start-up, so every Python process of an environment that
# has this package installed — runners, pytest, Beam worker processes, TFX's user-module
# wheel builds, container images — gets it before any import.
LEGACY_KERAS_PTH = 'tf_legacy_keras.pth'


class BuildPyWithStartupHook(build_py):
  """Copies the start-up `.pth` file to the root of the built package (site-packages)."""

  def run(self):
    super().run()
    self.mkpath(self.build_lib)
    self.copy_file(os.path.join(_HERE, LEGACY_KERAS_PTH),
                   os.path.join(self.build_lib, LEGACY_KERAS_PTH))


def _requirements(path):
  with open(os.path.join(_HERE, path), encoding='utf-8') as f:
    lines = (line.split('#', 1)[0].strip() for line in f)
    return [line for line in lines if line]


setuptools.setup(
    name='poster-genre-pipeline',
    version='0.1.0',
    description='TFX pipeline that tags movie posters with their genres and ships the '
                'model to TF Serving.',
    python_requires='>=3.10,<3.11',
    packages=setuptools.find_packages(include=['knobs', 'contract', 'contract.*', 'pipeline', 'pipeline.*', 'models', 'models.*',
                                               'components', 'components.*',
                                               'poster_predict', 'poster_predict.*',
                                               'reports', 'reports.*']),
    py_modules=['local_runner', 'kubeflow_v2_runner', 'trainer_module', 'transform_module'],
    install_requires=_requirements('requirements/requirements.in'),
    # The prediction CLI (poster_predict/cli.py): local SavedModel or TF Serving REST.
    entry_points={'console_scripts': ['postergenre-predict=poster_predict.cli:run']},
    cmdclass={'build_py': BuildPyWithStartupHook},
)
