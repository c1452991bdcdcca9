"""The ingest summary: where every CSV row went, the vocabulary, and per-split genre counts.

PosterExampleGen writes it as `ingest_summary.json` in its IngestSummary artifact and logs its
summary lines; `local_runner.py` prints the same lines after every run (cached or not).
"""
import collections
import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Sequence

import tensorflow as tf

from components.poster_example_gen.labels import LabelTable
from components.poster_example_gen.labels import RowExclusion
from contract.vocabulary import GenreVocabulary

SUMMARY_FILE = 'ingest_summary.json'
# Ids listed per exclusion reason; the counts are always complete.
MAX_LISTED_IDS = 50


class UnaccountedRowsError(RuntimeError):
  """Kept plus excluded rows do not add up to the CSV's rows: rows were lost."""


def build_summary(*, labels_path: str, table: LabelTable, exclusions: Iterable[RowExclusion],
                 vocabulary: GenreVocabulary, kept_per_split: Mapping[str, int],
                 positives_per_split: Mapping[str, Mapping[str, int]],
                 duplicate_image_groups: Iterable[Sequence[str]],
                 split_order: Sequence[str],
                 unlabelled_images: Sequence[str] = ()) -> Dict[str, Any]:
  """Assembles the summary; raises UnaccountedRowsError if any CSV row is unaccounted for.

  `unlabelled_images`: ids of image files that no CSV row names. They are not rows, so they
  stay out of the row accounting, but the summary counts and lists them.
  """
  excluded_rows = collections.Counter()
  excluded_ids = collections.defaultdict(list)
  for exclusion in sorted(exclusions, key=lambda e: (e.reason, e.poster_id)):
    excluded_rows[exclusion.reason] += exclusion.rows
    if len(excluded_ids[exclusion.reason]) < MAX_LISTED_IDS:
      excluded_ids[exclusion.reason].append(
          {'id': exclusion.poster_id, 'detail': exclusion.detail})
  kept = {split: int(kept_per_split.get(split, 0)) for split in split_order}
  kept_total = sum(kept.values())
  excluded_total = sum(excluded_rows.values())
  if kept_total + excluded_total != table.csv_rows:
    raise UnaccountedRowsError(
        f'{table.csv_rows} CSV rows but {kept_total} kept + {excluded_total} excluded.')
  return {
      'labels_file': labels_path,
      'csv_rows': table.csv_rows,
      'kept_total': kept_total,
      'kept_per_split': kept,
      'excluded_total': excluded_total,
      'excluded_rows_per_reason': dict(sorted(excluded_rows.items())),
      'excluded_examples': {reason: ids for reason, ids in sorted(excluded_ids.items())},
      'genre_list_mismatches': table.genre_list_mismatches,
      'genre_list_unparsable': table.genre_list_unparsable,
      'vocabulary': list(vocabulary.genres),
      'min_genre_count': vocabulary.min_count,
      'dropped_genres': vocabulary.dropped,
      'posters_per_genre': vocabulary.counts,
      'genre_positives_per_split': {
          split: {g: int(positives_per_split.get(split, {}).get(g, 0))
                  for g in vocabulary.genres}
          for split in split_order},
      'duplicate_image_groups': sorted(sorted(group) for group in duplicate_image_groups),
      'unlabelled_images': len(unlabelled_images),
      'unlabelled_image_examples': list(unlabelled_images[:MAX_LISTED_IDS]),
  }


def summary_lines(summary: Mapping[str, Any]) -> List[str]:
  """Human-readable summary: counts per split, vocabulary, exclusions per reason."""
  kept = ', '.join(f'{split} {n}' for split, n in summary['kept_per_split'].items())
  lines = [
      f"Ingest: {summary['csv_rows']} CSV rows -> {summary['kept_total']} posters kept "
      f"({kept}), {summary['excluded_total']} rows excluded.",
      f"Vocabulary ({len(summary['vocabulary'])} genres): {', '.join(summary['vocabulary'])}",
      'Dropped genres (fewer than {} posters): {}'.format(
          summary['min_genre_count'],
          ', '.join(f'{g} ({n})' for g, n in summary['dropped_genres'].items()) or 'none'),
  ]
  for reason, rows in summary['excluded_rows_per_reason'].items():
    examples = ', '.join(e['id'] or '<no id>' for e in summary['excluded_examples'][reason][:5])
    lines.append(f'Excluded {reason}: {rows} row(s) (e.g. {examples})')
  if summary['genre_list_mismatches']:
    lines.append(f"Genre list-string disagreed with the 0/1 columns on "
                 f"{summary['genre_list_mismatches']} row(s); the columns were used.")
  if summary['unlabelled_images']:
    lines.append(f"Image files with no CSV row (not ingested): {summary['unlabelled_images']} "
                 f"(e.g. {', '.join(summary['unlabelled_image_examples'][:5])})")
  for group in summary['duplicate_image_groups']:
    lines.append(f"Byte-identical posters (kept together in one split): {', '.join(group)}")
  return lines


def write_summary(directory: str, summary: Mapping[str, Any]) -> str:
  # Launchers differ: LocalDagRunner creates output directories, the Kubeflow V2 one does not.
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, SUMMARY_FILE)
  with tf.io.gfile.GFile(path, 'w') as f:
    json.dump(summary, f, indent=2, sort_keys=False)
  return path


def read_summary(directory: str) -> Dict[str, Any]:
  with tf.io.gfile.GFile(os.path.join(directory, SUMMARY_FILE), 'r') as f:
    return json.load(f)
