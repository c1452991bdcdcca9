"""Shared test set-up: the Keras 2 check runs before anything imports TF; e2e fixtures."""
import os

import pytest

from pipeline import runtime_env

runtime_env.require_legacy_keras()

from tests import e2e_run  # pylint: disable=g-import-not-at-top
from tests import synthetic  # pylint: disable=g-import-not-at-top


@pytest.fixture(scope='session')
def e2e_dataset(tmp_path_factory) -> str:
  """Shared posters plus bad input in the Kaggle layout (see tests/e2e_run.py)."""
  if not os.path.exists(synthetic.SHARED_DATA_ROOT):
    message = f'shared posters not found at {synthetic.SHARED_DATA_ROOT}'
    if os.environ.get('CI'):
      pytest.fail(message)  # CI always has the shared data beside the clone.
    pytest.skip(message)
  return e2e_run.build_dataset(str(tmp_path_factory.mktemp('data') / 'movie-classifier'))


@pytest.fixture(scope='session')
def e2e_pipeline_run(e2e_dataset, tmp_path_factory) -> e2e_run.Run:
  """(config, ML Metadata connection, {node id: ComponentRun}) of one whole-DAG run."""
  return e2e_run.run_pipeline(e2e_dataset, str(tmp_path_factory.mktemp('output')))
