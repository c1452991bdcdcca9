"""The project's layers import downwards only, and its settings import no TensorFlow.

    contract, knobs <- models <- components, trainer_module, transform_module <- pipeline
             <- local_runner, kubeflow_v2_runner, reports, poster_predict (leaves)

Every import statement counts, including the ones inside functions.
"""
import ast
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Unit (a top-level package or root module) -> its layer; a unit imports only lower layers.
LAYERS = {
    'contract': 0, 'knobs': 0,
    'models': 1,
    'components': 2, 'trainer_module': 2, 'transform_module': 2,
    'pipeline': 3,
    'local_runner': 4, 'kubeflow_v2_runner': 4, 'reports': 4, 'poster_predict': 4,
}


def _sources(unit: str):
  path = os.path.join(REPO, unit)
  if os.path.isdir(path):
    for directory, _, files in os.walk(path):
      yield from (os.path.join(directory, name) for name in files if name.endswith('.py'))
  else:
    yield path + '.py'


def _imported_units(source: str):
  """(line, unit) for every import of one of the project's units in a file."""
  with open(source, encoding='utf-8') as f:
    tree = ast.parse(f.read(), source)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
      names = [node.module]
    else:
      continue
    for name in names:
      unit = name.split('.')[0]
      if unit in LAYERS:
        yield node.lineno, unit


def _upward_imports():
  found = []
  for unit, layer in LAYERS.items():
    for source in _sources(unit):
      for line, imported in _imported_units(source):
        if imported != unit and LAYERS[imported] >= layer:
          found.append(f'{os.path.relpath(source, REPO)}:{line} ({unit}, layer {layer}) '
                       f'imports {imported} (layer {LAYERS[imported]})')
  return found


def test_every_unit_of_the_project_has_a_layer():
  units = {name[:-3] if name.endswith('.py') else name for name in os.listdir(REPO)
           if (name.endswith('.py') and name != 'setup.py')
           or os.path.isfile(os.path.join(REPO, name, '__init__.py'))}
  assert units - {'tests', 'bench'} == set(LAYERS)


def test_units_import_only_lower_layers():
  assert _upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
  for unit in ('contract', 'models'):
    (tmp_path / unit).mkdir()
  (tmp_path / 'contract' / 'features.py').write_text('def f():\n  from models import export\n')
  monkeypatch.setattr(sys.modules[__name__], 'REPO', str(tmp_path))
  monkeypatch.setattr(sys.modules[__name__], 'LAYERS', {'contract': 0, 'models': 1})
  assert _upward_imports() == [
      'contract/features.py:2 (contract, layer 0) imports models (layer 1)']


@pytest.mark.parametrize('module', ['knobs', 'pipeline.configs', 'contract.nodes',
                                    'contract.serving', 'local_runner', 'kubeflow_v2_runner'])
def test_settings_and_runner_front_ends_import_no_tensorflow_or_tfx(module):
  """What runners need to parse and validate their arguments stays fast to import."""
  loaded = subprocess.run(
      [sys.executable, '-c', f'import sys, {module}; '
       'print(sorted(m for m in ("tensorflow", "tfx", "apache_beam") if m in sys.modules))'],
      cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
  assert loaded == '[]'
