"""Finds poster files on the command line and reads them, checking each one client-side.

Every poster is fully decoded with the same check that ingest applies
(components/poster_example_gen/images.py) before it is sent: a file the model cannot decode
would otherwise fail the whole batch it travels in, far from its name.
"""
import dataclasses
import os
from typing import Iterable, List, Tuple, Union

from components.poster_example_gen import images

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
  """The file's bytes if it is a complete JPEG or PNG poster, else what is wrong with it."""
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as error:
    return Problem(path, f'cannot read file: {error.strerror or error}')
  try:
    images.inspect_image(data)
  except images.PosterImageError as error:
    return Problem(path, str(error))
  return Poster(path, data)
