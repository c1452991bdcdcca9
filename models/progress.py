"""Progress bars for the long steps of a run, on the terminal of the process that runs it.

No TensorFlow here: the console imports this before TensorFlow loads. A quiet local run (local_runner.py without --verbose) sends stdout and stderr to its log
file and keeps the terminal reachable through the file descriptor in PROGRESS_FD_ENV; bars
go there. Elsewhere (a Beam worker, a cloud task, a test) they go to stderr, and tqdm draws
nothing when that is not a terminal, so logs stay free of bar redraws.
"""
import os
import sys
import time
from typing import Optional, TextIO

import tqdm

PROGRESS_FD_ENV = 'POSTER_PROGRESS_FD'

_last_update = 0.0


def last_update() -> float:
  """When a bar last moved (time.monotonic()); the console's heartbeat stays quiet then."""
  return _last_update


def _stream() -> TextIO:
  fd = os.environ.get(PROGRESS_FD_ENV)
  return os.fdopen(int(fd), 'w', closefd=False) if fd else sys.stderr


def bar(description: str, total: Optional[int], unit: str) -> tqdm.tqdm:
  return tqdm.tqdm(total=total, desc=f'  {description}', unit=unit, file=_stream(),
                   disable=None, leave=True, dynamic_ncols=True, mininterval=1.0)


def advance(progress_bar: tqdm.tqdm, steps: int = 1) -> None:
  """Moves a bar on; a bar that is drawn keeps the console's heartbeat quiet, one that is
  not (no terminal) leaves the heartbeat to show that the step is alive."""
  global _last_update
  progress_bar.update(steps)
  if not progress_bar.disable:
    _last_update = time.monotonic()
