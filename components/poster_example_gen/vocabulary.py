"""The genre vocabulary: which genres the model learns, in which fixed order.

The vocabulary is data, not code: PosterExampleGen derives it from the labels file and writes it next to the examples (`genre_vocabulary.txt`) and as a custom property of the
Examples artifact, so that no model code hard-codes genre names or their order.
"""
import collections
import dataclasses
import os
from typing import Dict, Iterable, Mapping, Sequence, Tuple

import tensorflow as tf

from components.poster_example_gen.labels import LabelledPoster
from components.poster_example_gen.labels import read_label_table

VOCABULARY_FILE = 'genre_vocabulary.txt'
# Custom property of the Examples artifact holding the vocabulary as a JSON list.
VOCABULARY_PROPERTY = 'genre_vocabulary'


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


def vocabulary_from_labels(posters: Iterable[LabelledPoster], candidate_genres: Sequence[str],
                           min_count: int) -> GenreVocabulary:
  """The vocabulary of a parsed labels file: counts come from the labels alone.

  Counting labelled posters (not posters whose image later decodes) makes the vocabulary a
  function of the labels file only, so the pipeline builder can compute the same vocabulary
  before anything runs (the Evaluator's per-genre metrics need its size up front).
  """
  posters = list(posters)
  counts = collections.Counter(g for poster in posters for g in poster.genres)
  return select_vocabulary(counts, candidate_genres, min_count, labelled_posters=len(posters))


def vocabulary_of_labels_file(labels_path: str, min_count: int) -> GenreVocabulary:
  """What PosterExampleGen will choose for this labels file, computed without running it."""
  table = read_label_table(labels_path)
  return vocabulary_from_labels(table.posters, table.genres, min_count)


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
  """Reads the vocabulary written next to an Examples artifact's splits."""
  path = os.path.join(directory, VOCABULARY_FILE)
  with tf.io.gfile.GFile(path, 'r') as f:
    genres = tuple(line.strip() for line in f if line.strip())
  if not genres:
    raise ValueError(f'Genre vocabulary {path} is empty.')
  return genres
