"""Parses the Kaggle `train.csv` (Id, Genre, one 0/1 column per genre) into poster labels.

Every CSV row ends in exactly one place: a kept `LabelledPoster`, or a `RowExclusion` with a
reason. Nothing is dropped without being counted, which is what lets the ingest summary
account for every row.

Decisions, in one place:
- The 0/1 genre columns are the source of truth. The `Genre` column repeats the labels as a
  Python-list string; it is used as a cross-check (disagreements are counted, the columns
  win) and to recover a genre whose column is missing from the CSV.
- `N/A` is the dataset's "no genre" marker, never a genre. A row whose only label is `N/A`
  (or that has no label at all) is excluded.
- Repeated rows with the same Id and the same labels collapse to one poster; the repeats are
  accounted as `duplicate_row`. Repeated Ids whose labels disagree are excluded entirely
  (`conflicting_labels`): there is no way to know which annotation is right, and a wrong
  training label is worse than one poster fewer.
"""
import ast
import collections
import csv
import dataclasses
import io
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import tensorflow as tf

from contract.vocabulary import GenreVocabulary
from contract.vocabulary import select_vocabulary

ID_COLUMN = 'Id'
GENRE_LIST_COLUMN = 'Genre'
NO_GENRE_MARKER = 'N/A'

# Exclusion reasons for CSV rows (the image-level reasons live in images.py).
MISSING_ID = 'missing_id'
INVALID_ID = 'invalid_id'
MALFORMED_ROW = 'malformed_row'
DUPLICATE_ROW = 'duplicate_row'
CONFLICTING_LABELS = 'conflicting_labels'
ONLY_NA_LABEL = 'only_na_label'
NO_GENRE_LABEL = 'no_genre_label'

# Ids become file names (`Images/<Id>.jpg`): anything that could escape the image directory
# or is not a plain name is rejected.
_VALID_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


class LabelFileError(ValueError):
  """The labels file cannot be used at all (as opposed to a single bad row)."""


@dataclasses.dataclass(frozen=True)
class LabelledPoster:
  poster_id: str
  genres: Tuple[str, ...]  # In the CSV's genre order.


@dataclasses.dataclass(frozen=True)
class RowExclusion:
  poster_id: str
  reason: str
  detail: str
  rows: int = 1  # How many CSV rows this exclusion accounts for.


@dataclasses.dataclass(frozen=True)
class LabelTable:
  posters: List[LabelledPoster]
  exclusions: List[RowExclusion]
  # Candidate genres in a fixed order: the CSV's genre columns (minus N/A), then genres named
  # only in the `Genre` list-string, sorted.
  genres: List[str]
  csv_rows: int
  # Rows whose `Genre` list-string disagrees with their 0/1 columns (the columns win).
  genre_list_mismatches: int
  # Rows whose `Genre` list-string could not be parsed (the columns are used alone).
  genre_list_unparsable: int


@dataclasses.dataclass(frozen=True)
class _ParsedRow:
  poster_id: str
  genres: Tuple[str, ...]
  marked_no_genre: bool


def parse_label_csv(text: str) -> LabelTable:
  """Parses the labels CSV (a leading UTF-8 byte-order mark is tolerated)."""
  if text.startswith('\ufeff'):
    text = text[1:]
  reader = csv.reader(io.StringIO(text))
  try:
    header = [name.strip() for name in next(reader)]
  except StopIteration:
    raise LabelFileError('The labels CSV is empty: no header row.') from None
  if ID_COLUMN not in header:
    raise LabelFileError(
        f'The labels CSV has no {ID_COLUMN!r} column; header is {header}.')
  id_index = header.index(ID_COLUMN)
  list_index = header.index(GENRE_LIST_COLUMN) if GENRE_LIST_COLUMN in header else None
  genre_columns = [(i, name) for i, name in enumerate(header)
                   if i not in (id_index, list_index) and name]
  if not genre_columns and list_index is None:
    raise LabelFileError(
        'The labels CSV has neither genre columns nor a '
        f'{GENRE_LIST_COLUMN!r} column; header is {header}.')

  column_genres = [name for _, name in genre_columns if name != NO_GENRE_MARKER]
  extra_genres = set()
  parsed_rows: List[_ParsedRow] = []
  exclusions: List[RowExclusion] = []
  mismatches = 0
  unparsable = 0
  csv_rows = 0
  for row in reader:
    if not any(cell.strip() for cell in row):
      continue  # Blank lines are not rows.
    csv_rows += 1
    poster_id = row[id_index].strip() if id_index < len(row) else ''
    if not poster_id:
      exclusions.append(RowExclusion('', MISSING_ID, f'CSV row {csv_rows} has no Id'))
      continue
    if not _VALID_ID.match(poster_id):
      exclusions.append(RowExclusion(poster_id, INVALID_ID,
                                     f'Id {poster_id!r} is not a plain file name'))
      continue
    if len(row) != len(header):
      exclusions.append(RowExclusion(
          poster_id, MALFORMED_ROW,
          f'{len(row)} fields where the header has {len(header)}'))
      continue
    try:
      flagged = {name for i, name in genre_columns if _parse_flag(row[i], name)}
    except ValueError as error:
      exclusions.append(RowExclusion(poster_id, MALFORMED_ROW, str(error)))
      continue

    listed = None
    if list_index is not None:
      listed = _parse_genre_list(row[list_index])
      if listed is None:
        unparsable += 1
    genres = flagged - {NO_GENRE_MARKER}
    if listed is not None:
      # Genres named in the list whose column is missing from the CSV are kept.
      missing_column = {g for g in listed if g not in column_genres and g != NO_GENRE_MARKER}
      extra_genres |= missing_column
      genres |= missing_column
      if genre_columns and set(listed) - missing_column != flagged:
        mismatches += 1
    marked_no_genre = NO_GENRE_MARKER in flagged or (listed is not None and NO_GENRE_MARKER in listed)
    parsed_rows.append(_ParsedRow(poster_id, tuple(genres), marked_no_genre))

  genres_order = column_genres + sorted(extra_genres)
  rank = {genre: i for i, genre in enumerate(genres_order)}
  posters, id_exclusions = _collapse_repeated_ids(parsed_rows, rank)
  return LabelTable(
      posters=posters,
      exclusions=exclusions + id_exclusions,
      genres=genres_order,
      csv_rows=csv_rows,
      genre_list_mismatches=mismatches,
      genre_list_unparsable=unparsable)


def read_label_table(labels_path: str) -> LabelTable:
  """Reads and parses a labels CSV from a local path or a remote URI (tf.io.gfile)."""
  if not tf.io.gfile.exists(labels_path):
    raise FileNotFoundError(f'Labels file {labels_path} does not exist.')
  with tf.io.gfile.GFile(labels_path, 'rb') as f:
    raw = f.read()
  try:
    text = raw.decode('utf-8')
  except UnicodeDecodeError as error:
    raise LabelFileError(f'{labels_path} is not UTF-8 text: {error}') from error
  return parse_label_csv(text)


def _parse_flag(value: str, column: str) -> bool:
  text = value.strip()
  try:
    number = float(text)
  except ValueError:
    number = None
  if number not in (0.0, 1.0):
    raise ValueError(f'column {column!r} holds {value!r}, expected 0 or 1')
  return number == 1.0


def _parse_genre_list(value: str) -> Optional[List[str]]:
  """Parses "['Comedy', 'Drama']"; returns None when it is not a list of strings."""
  try:
    parsed = ast.literal_eval(value.strip())
  except (ValueError, SyntaxError, MemoryError, RecursionError):
    return None
  if not isinstance(parsed, (list, tuple)) or not all(isinstance(g, str) for g in parsed):
    return None
  return [g.strip() for g in parsed]


def _collapse_repeated_ids(
    rows: Sequence[_ParsedRow], rank: Dict[str, int]
) -> Tuple[List[LabelledPoster], List[RowExclusion]]:
  by_id: Dict[str, List[_ParsedRow]] = {}
  for row in rows:
    by_id.setdefault(row.poster_id, []).append(row)

  posters = []
  exclusions = []
  for poster_id, group in by_id.items():  # dicts keep first-seen order.
    label_sets = {frozenset(r.genres) for r in group}
    if len(label_sets) > 1:
      described = ' vs '.join(sorted(str(sorted(s)) for s in label_sets))
      exclusions.append(RowExclusion(poster_id, CONFLICTING_LABELS,
                                     f'{len(group)} rows disagree: {described}',
                                     rows=len(group)))
      continue
    if len(group) > 1:
      exclusions.append(RowExclusion(poster_id, DUPLICATE_ROW,
                                     f'{len(group) - 1} repeated row(s) with the same labels',
                                     rows=len(group) - 1))
    first = group[0]
    if not first.genres:
      reason = ONLY_NA_LABEL if first.marked_no_genre else NO_GENRE_LABEL
      exclusions.append(RowExclusion(poster_id, reason, 'no genre label'))
      continue
    posters.append(LabelledPoster(poster_id, tuple(sorted(first.genres, key=rank.__getitem__))))
  return posters, exclusions


def vocabulary_from_labels(posters: Iterable[LabelledPoster], candidate_genres: Sequence[str],
                           min_count: int) -> GenreVocabulary:
  """The vocabulary of a parsed labels file: counts come from the labels alone, so the
  vocabulary is a function of the labels file and does not depend on which images decode."""
  posters = list(posters)
  counts = collections.Counter(g for poster in posters for g in poster.genres)
  return select_vocabulary(counts, candidate_genres, min_count, labelled_posters=len(posters))


def contract_vocabulary(posters: Iterable[LabelledPoster], candidate_genres: Sequence[str],
                        contract_genres: Sequence[str], min_count: int) -> GenreVocabulary:
  """The vocabulary the contract fixes (every span is learned in the same genres), whatever
  this labels file's counts: its genres outside the contract are reported as dropped, with
  their counts, as too-rare genres are when the data decide."""
  missing = [genre for genre in contract_genres if genre not in candidate_genres]
  if missing:
    raise LabelFileError(f'The labels file has no column for the contract\'s genres {missing}.')
  posters = list(posters)
  counts = collections.Counter(g for poster in posters for g in poster.genres)
  return GenreVocabulary(
      genres=tuple(contract_genres),
      dropped={g: counts[g] for g in candidate_genres if g not in contract_genres},
      counts={g: counts[g] for g in candidate_genres}, min_count=min_count,
      labelled_posters=len(posters))
