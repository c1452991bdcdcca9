"""Finds poster files on the command line and reads them.

Files are sent as they are: the model itself says, poster by poster, which ones it cannot
read and why (the `status` output, contract/serving.py), so there is no second,
client-side opinion to disagree with it.
"""
import dataclasses
import os
from typing import Iterable, List, Tuple, Union

# Directories are searched for these; files named explicitly are tried whatever their name.
POSTER_EXTENSIONS = ('.jpg', '.jpeg', '.png')


@dataclasses.dataclass(frozen=True)
class Poster:
  source: str  # The path as found on the command line or in a directory.
  data: bytes


@dataclasses.dataclass(frozen=True)
class Problem:
  """A poster that could not be tagged, and why."""
  source: str
  message: str


def find_poster_files(paths: Iterable[str]) -> Tuple[List[str], List[Problem]]:
  """Files named directly, then each directory's posters (recursively, sorted by path)."""
  files, problems = [], []
  for path in paths:
    if os.path.isdir(path):
      found = sorted(
          os.path.join(root, name)
          for root, _, names in os.walk(path) for name in names
          if name.lower().endswith(POSTER_EXTENSIONS))
      if not found:
        problems.append(Problem(path, f'no {"/".join(POSTER_EXTENSIONS)} files in directory'))
      files.extend(found)
    elif os.path.isfile(path):
      files.append(path)
    else:
      problems.append(Problem(path, 'no such file or directory'))
  return files, problems


def read_poster(path: str) -> Union[Poster, Problem]:
  """The file's bytes, or why it cannot be read."""
  try:
    with open(path, 'rb') as f:
      return Poster(path, f.read())
  except OSError as error:
    return Problem(path, f'cannot read file: {error.strerror or error}')
