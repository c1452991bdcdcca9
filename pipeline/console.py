"""The terminal of a local run: a line per component as it starts and as it ends, progress on
the long steps, and the full log in a file.

A pipeline run logs thousands of lines: TFX dumps whole component protos at INFO, TensorFlow
and Beam add their own. `QuietConsole` sends the process's stdout and stderr (Python's and
the C++ libraries' alike, at the file-descriptor level) to a log file, keeps a handle on the
terminal, and writes there what a person running the pipeline needs: which component runs
(a step done within ANNOUNCE_SECONDS gets its end line only), how it ended and how long it
took, progress bars of the Trainer's long steps
(models/progress.py), a heartbeat for long steps without one, and the end-of-run summary.
With `verbose`, nothing is redirected and the log shows live, as TFX writes it.
"""
import logging
import os
import re
import sys
import threading
import time
from typing import Optional, TextIO

from models import progress

# What TFX's LocalDagRunner and launcher log around each component (tfx/orchestration/local/
# local_dag_runner.py, tfx/orchestration/portable/launcher.py).
_STARTED = re.compile(r'^Component (\S+) is running\.$')
_FINISHED = re.compile(r'^Component (\S+) is finished\.$')
_CACHED = re.compile(r'^A cached execution \d+ is used\.$')
# A step still running after this long gets its start line; a quicker one, only its end line.
ANNOUNCE_SECONDS = 5.0
# A step that shows no progress for this long gets a line saying it is still running; after
# the first, one a minute.
HEARTBEAT_SECONDS = 30.0
LATER_HEARTBEAT_SECONDS = 60.0


def duration(seconds: float) -> str:
  minutes, seconds = divmod(int(round(seconds)), 60)
  return f'{minutes}m{seconds:02d}s' if minutes else f'{seconds}s'


class _ComponentLines(logging.Handler):
  """Turns the runner's log records into a start and an end line per component."""

  def __init__(self, console: 'QuietConsole', announce_seconds: float):
    super().__init__(level=logging.INFO)
    self._console = console
    self._announce_seconds = announce_seconds
    self.current: Optional[str] = None
    self.started = 0.0
    self.announced = False
    self._cached = False

  def announce(self) -> None:
    """The start line of the current step, once."""
    if self.current is not None and not self.announced:
      self.announced = True
      self._console.print(f'▶ {self.current}')

  def emit(self, record: logging.LogRecord) -> None:
    message = record.getMessage()
    started, finished = _STARTED.match(message), _FINISHED.match(message)
    if started:
      self.current, self.started = started.group(1), time.monotonic()
      self.announced = self._cached = False
      if not self._announce_seconds:
        self.announce()
    elif _CACHED.match(message):
      self._cached = True
    elif finished and self.current is not None:
      state = 'cached' if self._cached else 'done'
      self._console.print(f'✓ {self.current:<24} {state:<7} '
                          f'{duration(time.monotonic() - self.started)}')
      self.current = None

  def running_for(self) -> float:
    return time.monotonic() - self.started if self.current is not None else 0.0


class QuietConsole:
  """Context manager around a run; `print` writes to the terminal whatever the mode."""

  def __init__(self, log_path: str, verbose: bool,
               announce_seconds: float = ANNOUNCE_SECONDS):
    self.log_path = log_path
    self._verbose = verbose
    self._saved_fds = None
    self._terminal: TextIO = sys.stdout
    self._handler = _ComponentLines(self, announce_seconds)
    self._announce_seconds = announce_seconds
    self._last_print = time.monotonic()
    self._beats_of: Optional[str] = None  # The step the last heartbeat was about.
    self._lock = threading.Lock()
    self._done = threading.Event()
    self._heartbeat = threading.Thread(target=self._beat, daemon=True)

  def print(self, line: str = '') -> None:
    with self._lock:
      self._terminal.write(line + '\n')
      self._terminal.flush()
      self._last_print = time.monotonic()

  def _beat(self) -> None:
    while not self._done.wait(1.0):
      current, running_for = self._handler.current, self._handler.running_for()
      if current is None:
        continue
      if running_for >= self._announce_seconds:
        self._handler.announce()
      quiet_since = max(self._last_print, progress.last_update())
      wait = LATER_HEARTBEAT_SECONDS if self._beats_of == current else HEARTBEAT_SECONDS
      if time.monotonic() - quiet_since >= wait:
        self.print(f'  … {current} still running ({duration(running_for)})')
        self._beats_of = current

  def __enter__(self) -> 'QuietConsole':
    os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
    if not self._verbose:
      sys.stdout.flush()
      sys.stderr.flush()
      terminal_fd = os.dup(sys.stdout.fileno())
      self._saved_fds = (os.dup(1), os.dup(2))
      log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
      os.dup2(log_fd, 1)
      os.dup2(log_fd, 2)
      os.close(log_fd)
      self._terminal = os.fdopen(terminal_fd, 'w', buffering=1)
      os.environ[progress.PROGRESS_FD_ENV] = str(terminal_fd)
      self.print(f'Full log: {self.log_path} (--verbose shows it here)')
    # Python logging's own stderr handler (which absl's module-level calls would otherwise
    # install on first use), first: the component lines come in addition to the log.
    logging.basicConfig(format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    logging.getLogger().addHandler(self._handler)
    self._heartbeat.start()
    return self

  def __exit__(self, error_type, error, traceback) -> None:
    self._done.set()
    logging.getLogger().removeHandler(self._handler)
    if self._handler.current is not None:  # It started and never finished.
      self.print(f'✗ {self._handler.current} failed after '
                 f'{duration(time.monotonic() - self._handler.started)}')
    if self._saved_fds is not None:
      sys.stdout.flush()
      sys.stderr.flush()
      for saved, fd in zip(self._saved_fds, (1, 2)):
        os.dup2(saved, fd)
        os.close(saved)
      os.environ.pop(progress.PROGRESS_FD_ENV, None)
      self._terminal.close()
      self._terminal = sys.stdout
