"""Shared by the bench scripts: the command and machine description, writing a generated
section into BENCHMARKS.md (leaving the rest alone), a gain's table cell, and a research
script's JSON and table."""
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def command() -> str:
  """The command line that ran this benchmark, as BENCHMARKS.md quotes it."""
  script = os.path.relpath(os.path.abspath(sys.argv[0]), _REPO_ROOT)
  return shlex.join(['.venv/bin/python', script, *sys.argv[1:]])


def machine() -> str:
  """What every benchmark figure names as its machine: cores and CPU model (figures compare
  only on the same CPU: TensorFlow's oneDNN path, for one, is on by default only on some)."""
  model = platform.processor() or platform.machine()
  if os.path.exists('/proc/cpuinfo'):
    with open('/proc/cpuinfo') as f:
      model = next((line.split(':', 1)[1].strip() for line in f
                    if line.startswith('model name')), model)
  return f'{os.cpu_count()} CPUs, {model}'


def commit() -> str:
  """The checkout's commit, with '+changes' when the tree differs from it."""
  def git(*args):
    return subprocess.run(['git', *args], cwd=_REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
  return git('rev-parse', '--short', 'HEAD') + (
      '+changes' if git('status', '--porcelain', '--untracked-files=no') else '')


def today() -> str:
  return datetime.date.today().isoformat()


def write_section(markdown_path: str, section: str, begin_marker: str,
                  end_marker: str) -> None:
  """Replaces the text between the markers (the section includes them); appends the first
  time."""
  with open(markdown_path) as f:
    text = f.read()
  if begin_marker in text and end_marker in text:
    head, rest = text.split(begin_marker, 1)
    text = head + section + rest.split(end_marker, 1)[1]
  else:
    text = text.rstrip('\n') + '\n\n' + section + '\n'
  with open(markdown_path, 'w') as f:
    f.write(text)


def publish(section: str, markdown_path: str, begin_marker: str, end_marker: str) -> None:
  """A benchmark's ending: its section on stdout and, given a path, into that file."""
  print(section)
  if markdown_path:
    write_section(markdown_path, section, begin_marker, end_marker)
    print(f'Wrote {markdown_path}')


def gain_cell(gain: float, low: float, high: float) -> str:
  """A paired gain and its 95% interval, as every bench table shows it."""
  return f'{gain:+.3f} [{low:+.3f}, {high:+.3f}]'


def report(results: dict, markdown: str, output_path: str) -> None:
  """A research script's ending: its results as JSON at `output_path`, its table on stdout
  (BENCHMARKS.md quotes it by hand, with the reading)."""
  with open(output_path, 'w') as f:
    json.dump(results, f, indent=2)
  print()
  print(markdown)
  print(f'\nWrote {output_path}')
