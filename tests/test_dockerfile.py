"""The pipeline image's Dockerfile agrees with the lock and the configuration it serves.

The image cannot be built here (no registry); these checks catch the drift that would only
show up in a cloud run: another TFX or Beam release than the lock's, the source somewhere Beam's
--setup_file does not point, Keras 3, or secrets and local outputs baked into the image.
"""
import os
import re

import pytest

from pipeline import configs

DOCKERFILE = os.path.join(configs.REPO_ROOT, 'Dockerfile')
DOCKERIGNORE = os.path.join(configs.REPO_ROOT, '.dockerignore')
LOCK = os.path.join(configs.REPO_ROOT, 'requirements', 'lock.txt')


def _read(path: str) -> str:
  with open(path, encoding='utf-8') as f:
    return f.read()


def _locked_version(package: str) -> str:
  return re.search(rf'^{re.escape(package)}==(\S+)$', _read(LOCK), re.MULTILINE).group(1)


def _instructions(name: str):
  """Arguments of every `name` instruction, continuation lines joined."""
  text = re.sub(r'\\\n', ' ', _read(DOCKERFILE))
  return [line.split(None, 1)[1].strip() for line in text.splitlines()
          if line.split(None, 1)[:1] == [name]]


def test_base_is_the_official_tfx_image_of_the_locked_release():
  assert _instructions('FROM')[-1] == f"gcr.io/tfx-oss-public/tfx:{_locked_version('tfx')}"


def test_dataflow_boot_comes_from_the_locked_beam_release():
  assert f"BEAM_VERSION={_locked_version('apache-beam')}" in _instructions('ARG')
  assert 'apache/beam_python3.10_sdk:${BEAM_VERSION} AS beam_sdk' in _instructions('FROM')
  assert _instructions('ENTRYPOINT') == ['["/opt/apache/beam/boot"]']


def test_source_lives_where_beam_setup_file_points():
  assert _instructions('WORKDIR') == [configs.IMAGE_SOURCE_DIR]


def test_installs_the_lock_without_a_resolver_and_sets_legacy_keras():
  [lock_install, package_install] = _instructions('RUN')
  assert 'pip install --no-cache-dir --no-deps -r requirements/lock.txt' in lock_install
  assert 'pip install --no-cache-dir --no-deps --no-build-isolation .' in package_install
  assert any(env.startswith('TF_USE_LEGACY_KERAS=1') for env in _instructions('ENV'))


@pytest.mark.parametrize('instruction', ['ENV', 'ARG'])
def test_no_secrets_are_baked_in(instruction):
  for argument in _instructions(instruction):
    assert not re.search(r'KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL', argument, re.IGNORECASE)


def test_environments_outputs_and_data_stay_out_of_the_build_context():
  ignored = set(_read(DOCKERIGNORE).split())
  assert {'.git', '.venv', 'tfx_pipeline_output', 'serving_model', 'data'} <= ignored
