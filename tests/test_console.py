"""The quiet console: component lines and progress on the terminal, everything else in the
log file, whoever writes it (Python logging, print, or C++ code writing to fd 2)."""
import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_RUN = textwrap.dedent('''
    import logging, os, sys
    from absl import logging as absl_logging
    from pipeline import console
    absl_logging.set_verbosity(absl_logging.INFO)
    with console.QuietConsole(sys.argv[1], verbose=sys.argv[2] == '1',
                              announce_seconds=float(sys.argv[4])) as terminal:
      absl_logging.info('Component PosterExampleGen is running.')
      absl_logging.info('a whole component proto, at INFO')
      print('a library printing to stdout')
      os.write(2, b'E0000 cuda_fft.cc: Unable to register cuFFT factory\\n')
      absl_logging.info('Component PosterExampleGen is finished.')
      absl_logging.info('Component Trainer is running.')
      absl_logging.info('A cached execution 7 is used.')
      absl_logging.info('Component Trainer is finished.')
      absl_logging.info('Component Evaluator is running.')
      if sys.argv[3] == 'fail':
        raise RuntimeError('unexpected')
      absl_logging.info('Component Evaluator is finished.')
      terminal.print('summary line')
''')


def _run(tmp_path, verbose=False, outcome='ok', announce_seconds=0.0):
  log = tmp_path / 'logs' / 'run.log'
  result = subprocess.run([sys.executable, '-c', _RUN, str(log), str(int(verbose)), outcome,
                           str(announce_seconds)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
  return result, log


def test_the_terminal_gets_one_line_per_component_start_and_end(tmp_path):
  result, log = _run(tmp_path)
  assert result.returncode == 0, result.stderr
  lines = [line.split()[:3] for line in result.stdout.splitlines()]
  assert lines == [['Full', 'log:', str(log)], ['▶', 'PosterExampleGen'],
                   ['✓', 'PosterExampleGen', 'done'], ['▶', 'Trainer'],
                   ['✓', 'Trainer', 'cached'], ['▶', 'Evaluator'], ['✓', 'Evaluator', 'done'],
                   ['summary', 'line']]
  assert result.stderr == ''
  logged = log.read_text()
  for noise in ('a whole component proto', 'a library printing to stdout',
                'Unable to register cuFFT factory'):
    assert noise in logged


def test_a_quick_step_gets_its_end_line_only(tmp_path):
  result, _ = _run(tmp_path, announce_seconds=60.0)
  assert [line.split()[:2] for line in result.stdout.splitlines()[1:4]] == [
      ['✓', 'PosterExampleGen'], ['✓', 'Trainer'], ['✓', 'Evaluator']]


def test_an_unexpected_failure_names_the_step_and_keeps_its_traceback_visible(tmp_path):
  result, _ = _run(tmp_path, outcome='fail')
  assert result.returncode != 0
  assert result.stdout.splitlines()[-1].startswith('✗ Evaluator failed after')
  assert 'Traceback' in result.stderr and 'RuntimeError: unexpected' in result.stderr


def test_verbose_shows_the_log_live(tmp_path):
  result, _ = _run(tmp_path, verbose=True)
  assert 'a library printing to stdout' in result.stdout
  assert 'Unable to register cuFFT factory' in result.stderr
  assert '✓ Trainer' in result.stdout
