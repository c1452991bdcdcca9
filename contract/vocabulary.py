"""The genre vocabulary: which genres the model learns, in which fixed order.

The vocabulary is data, not code. PosterExampleGen decides it once, from the labels file,
and writes it into its Examples artifact (`genre_vocabulary.txt`, one genre per line);
every Examples artifact derived from those examples carries the same file, and the exported
model carries it as an asset. Everything that needs the genres reads them with
`read_vocabulary`, so no code hard-codes genre names, their number or their order.
"""
import dataclasses
import os
from typing import Dict, List, Mapping, Sequence, Tuple

import tensorflow as tf

VOCABULARY_FILE = 'genre_vocabulary.txt'


@dataclasses.dataclass(frozen=True)
class GenreVocabulary:
  genres: Tuple[str, ...]
  # Genres left out because they have fewer than `min_count` posters: name -> posters.
  dropped: Dict[str, int]
  # Labelled posters per candidate genre.
  counts: Dict[str, int]
  min_count: int
  # Labelled posters the counts come from: a genre's prevalence is counts[genre] / this.
  labelled_posters: int


def select_vocabulary(genre_counts: Mapping[str, int], candidate_genres: Sequence[str],
                      min_count: int, labelled_posters: int) -> GenreVocabulary:
  """Keeps the candidate genres with at least `min_count` posters, in candidate order.

  Too-rare genres are dropped rather than learned badly: with a handful of posters a genre
  cannot be trained, validated or tested (an 80/10/10 split leaves it ~1 eval poster).
  """
  if min_count < 1:
    raise ValueError(f'min_count must be at least 1, got {min_count}')
  counts = {genre: int(genre_counts.get(genre, 0)) for genre in candidate_genres}
  unknown = set(genre_counts) - set(candidate_genres)
  if unknown:
    raise ValueError(f'Counted genres that are not candidates: {sorted(unknown)}')
  kept = tuple(g for g in candidate_genres if counts[g] >= min_count)
  if not kept:
    raise ValueError(
        f'No genre has at least {min_count} posters (counts: {counts}); '
        'lower the minimum genre count or check the labels.')
  dropped = {g: counts[g] for g in candidate_genres if counts[g] < min_count}
  return GenreVocabulary(genres=kept, dropped=dropped, counts=counts, min_count=min_count,
                         labelled_posters=labelled_posters)


def multi_hot(genres: Sequence[str], vocabulary: Sequence[str]) -> Tuple[int, ...]:
  """0/1 vector in vocabulary order; genres outside the vocabulary are ignored."""
  present = set(genres)
  return tuple(int(g in present) for g in vocabulary)


def write_vocabulary(directory: str, genres: Sequence[str]) -> str:
  tf.io.gfile.makedirs(directory)  # The Kubeflow V2 launcher does not create it.
  path = os.path.join(directory, VOCABULARY_FILE)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(''.join(f'{genre}\n' for genre in genres))
  return path


def read_vocabulary(directory: str) -> Tuple[str, ...]:
  """The vocabulary of an Examples artifact (its URI) or of an exported model's assets."""
  return read_vocabulary_file(os.path.join(directory, VOCABULARY_FILE))


def read_window_vocabulary(directories: Sequence[str]) -> Tuple[str, ...]:
  """The one vocabulary of several Examples artifacts (a window of spans)."""
  vocabularies = {directory: read_vocabulary(directory) for directory in directories}
  distinct = set(vocabularies.values())
  if len(distinct) != 1:
    raise ValueError('Examples of one window must share a genre vocabulary: '
                     + '; '.join(f'{d}: {", ".join(v)}' for d, v in vocabularies.items()))
  return distinct.pop()


def read_vocabulary_file(path: str) -> Tuple[str, ...]:
  """A vocabulary file: one genre per line."""
  with tf.io.gfile.GFile(path, 'r') as f:
    genres = tuple(line.strip() for line in f if line.strip())
  if not genres:
    raise ValueError(f'Genre vocabulary {path} is empty.')
  return genres


def examples_uri(split_file_patterns: List[str]) -> str:
  """The Examples artifact URI of `<uri>/Split-<name>/*` file patterns (what a Trainer's
  `train_files` are), where its vocabulary file lies."""
  return os.path.dirname(os.path.dirname(split_file_patterns[0]))
