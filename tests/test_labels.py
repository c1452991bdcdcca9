"""CSV parsing: every row is kept or excluded with a reason, and the choices hold."""
import pytest

from components.poster_example_gen import labels
from tests.synthetic import csv_row, csv_text


def _reasons(table):
  return {(e.poster_id, e.reason): e.rows for e in table.exclusions}


def _accounted_rows(table):
  return len(table.posters) + sum(e.rows for e in table.exclusions)


def test_parses_genres_in_column_order_and_excludes_na():
  table = labels.parse_label_csv(csv_text([
      csv_row('tt1', ['Drama', 'Comedy']),
      csv_row('tt2', ['Horror']),
  ]))
  assert [(p.poster_id, p.genres) for p in table.posters] == [
      ('tt1', ('Comedy', 'Drama')), ('tt2', ('Horror',))]
  assert table.genres == ['Action', 'Comedy', 'Drama', 'Horror', 'Romance', 'Western']
  assert 'N/A' not in table.genres
  assert table.csv_rows == 2 and table.exclusions == []


def test_repeated_id_with_same_labels_collapses_to_one_poster():
  table = labels.parse_label_csv(csv_text([
      csv_row('tt1', ['Drama']), csv_row('tt2', ['Action']), csv_row('tt1', ['Drama']),
      csv_row('tt1', ['Drama']),
  ]))
  assert [p.poster_id for p in table.posters] == ['tt1', 'tt2']
  assert _reasons(table) == {('tt1', labels.DUPLICATE_ROW): 2}
  assert _accounted_rows(table) == table.csv_rows == 4


def test_repeated_id_with_conflicting_labels_is_excluded_entirely():
  table = labels.parse_label_csv(csv_text([
      csv_row('tt1', ['Drama']), csv_row('tt1', ['Comedy']), csv_row('tt2', ['Action']),
  ]))
  assert [p.poster_id for p in table.posters] == ['tt2']
  assert _reasons(table) == {('tt1', labels.CONFLICTING_LABELS): 2}
  assert _accounted_rows(table) == 3


def test_na_only_and_unlabelled_rows_are_excluded_with_distinct_reasons():
  table = labels.parse_label_csv(csv_text([
      csv_row('tt1', ['N/A']), csv_row('tt2', []), csv_row('tt3', ['N/A', 'Drama']),
  ]))
  assert [(p.poster_id, p.genres) for p in table.posters] == [('tt3', ('Drama',))]
  assert _reasons(table) == {('tt1', labels.ONLY_NA_LABEL): 1,
                             ('tt2', labels.NO_GENRE_LABEL): 1}


def test_genre_list_string_is_parsed_and_mismatches_are_counted_columns_win():
  header_columns = ['Action', 'Comedy', 'Drama']
  row = ['tt1', "['Comedy', 'Drama']", '0', '1', '0']  # list says Drama, column says no.
  table = labels.parse_label_csv(csv_text([row], header_columns))
  assert table.posters[0].genres == ('Comedy',)
  assert table.genre_list_mismatches == 1


def test_unparsable_genre_list_falls_back_to_columns():
  table = labels.parse_label_csv(csv_text([['tt1', 'Comedy|Drama', '0', '1', '1']],
                                          ['Action', 'Comedy', 'Drama']))
  assert table.posters[0].genres == ('Comedy', 'Drama')
  assert table.genre_list_unparsable == 1


def test_utf8_byte_order_mark_is_tolerated():
  table = labels.parse_label_csv(csv_text([csv_row('tt1', ['Drama'])], bom=True))
  assert [p.poster_id for p in table.posters] == ['tt1']


def test_missing_genre_column_is_recovered_from_the_genre_list():
  columns = ['Action', 'Comedy', 'Drama']  # No 'Western' column.
  rows = [['tt1', "['Western', 'Drama']", '0', '0', '1'],
          ['tt2', "['Comedy']", '0', '1', '0']]
  table = labels.parse_label_csv(csv_text(rows, columns))
  assert table.genres == ['Action', 'Comedy', 'Drama', 'Western']
  assert table.posters[0].genres == ('Drama', 'Western')
  assert table.genre_list_mismatches == 0


def test_labels_from_genre_list_alone_when_there_are_no_genre_columns():
  table = labels.parse_label_csv("Id,Genre\ntt1,\"['Drama', 'Comedy']\"\n")
  assert table.genres == ['Comedy', 'Drama']
  assert table.posters[0].genres == ('Comedy', 'Drama')


def test_missing_id_column_is_a_clear_error():
  with pytest.raises(labels.LabelFileError, match="no 'Id' column"):
    labels.parse_label_csv('Poster,Genre,Drama\ntt1,"[\'Drama\']",1\n')


def test_empty_file_is_a_clear_error():
  with pytest.raises(labels.LabelFileError, match='empty'):
    labels.parse_label_csv('')


def test_bad_rows_are_excluded_not_fatal():
  text = csv_text([csv_row('tt1', ['Drama'])]) + (
      ',"[\'Drama\']",0,0,1,0,0,0,0\n'          # no Id
      '../etc,"[\'Drama\']",0,0,1,0,0,0,0\n'    # Id that is not a file name
      'tt3,"[\'Drama\']",0,0,yes,0,0,0,0\n'     # not 0/1
      'tt4,"[\'Drama\']",0,0\n'                 # short row
      '\n')                                     # blank line: not a row
  table = labels.parse_label_csv(text)
  assert [p.poster_id for p in table.posters] == ['tt1']
  reasons = sorted(e.reason for e in table.exclusions)
  assert reasons == sorted([labels.MISSING_ID, labels.INVALID_ID, labels.MALFORMED_ROW,
                            labels.MALFORMED_ROW])
  assert table.csv_rows == 5 == _accounted_rows(table)
