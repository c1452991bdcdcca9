"""The ingest summary accounts for every CSV row and says so in its summary."""
import pytest

from components.poster_example_gen import labels
from components.poster_example_gen import summary
from contract import vocabulary
from tests.synthetic import csv_row, csv_text

SPLITS = ['train', 'eval', 'test']


def _build(kept_per_split):
  table = labels.parse_label_csv(csv_text([
      csv_row('tt1', ['Drama']), csv_row('tt2', ['Drama', 'Comedy']), csv_row('tt3', ['N/A']),
      csv_row('tt1', ['Drama']),
  ]))
  vocab = vocabulary.select_vocabulary({'Drama': 2, 'Comedy': 1}, table.genres, min_count=2,
                                       labelled_posters=2)
  return summary.build_summary(
      labels_path='train.csv', table=table,
      exclusions=table.exclusions + [labels.RowExclusion('tt2', 'missing_image', 'gone')],
      vocabulary=vocab, kept_per_split=kept_per_split,
      positives_per_split={'train': {'Drama': 1}},
      duplicate_image_groups=[['tt9', 'tt8']], split_order=SPLITS)


def test_summary_accounts_for_every_row():
  built = _build({'train': 1})
  assert built['csv_rows'] == 4
  assert built['kept_per_split'] == {'train': 1, 'eval': 0, 'test': 0}
  assert built['excluded_rows_per_reason'] == {
      'duplicate_row': 1, 'missing_image': 1, 'only_na_label': 1}
  assert built['vocabulary'] == ['Drama']
  assert built['dropped_genres']['Comedy'] == 1
  assert built['genre_positives_per_split']['eval'] == {'Drama': 0}
  assert built['duplicate_image_groups'] == [['tt8', 'tt9']]


def test_lost_rows_are_an_error():
  with pytest.raises(summary.UnaccountedRowsError):
    _build({'train': 2})


def test_summary_names_splits_vocabulary_and_reasons(tmp_path):
  built = _build({'train': 1})
  summary.write_summary(str(tmp_path), built)
  text = '\n'.join(summary.summary_lines(summary.read_summary(str(tmp_path))))
  assert '4 CSV rows -> 1 posters kept (train 1, eval 0, test 0), 3 rows excluded' in text
  assert 'Vocabulary (1 genres): Drama' in text
  assert 'Comedy (1)' in text
  assert 'Excluded missing_image: 1 row(s) (e.g. tt2)' in text
