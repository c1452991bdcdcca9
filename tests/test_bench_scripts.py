"""Every bench/ script imports against today's code and has its entry point, so none rots
unnoticed between the runs that refresh BENCHMARKS.md."""
import importlib
import os

import pytest

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'bench')
SCRIPTS = sorted(name[:-3] for name in os.listdir(BENCH_DIR)
                 if name.endswith('.py') and name not in ('__init__.py', 'benchmarks_md.py'))


@pytest.mark.parametrize('name', SCRIPTS)
def test_the_script_imports_and_has_a_main(name):
  module = importlib.import_module(f'bench.{name}')
  assert callable(getattr(module, 'main', None)), f'bench/{name}.py has no main()'
  assert module.__doc__ and f'bench/{name}.py' in module.__doc__, (
      f'bench/{name}.py does not say how it is run')
