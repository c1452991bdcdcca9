"""Genre vocabulary thresholding and its file round trip."""
import pytest

from contract import vocabulary


def test_keeps_genres_at_or_above_minimum_in_candidate_order():
  vocab = vocabulary.select_vocabulary(
      {'Drama': 50, 'Reality-TV': 1, 'Action': 10, 'News': 9},
      ['Action', 'Drama', 'News', 'Reality-TV', 'Western'], min_count=10,
      labelled_posters=60)
  assert vocab.genres == ('Action', 'Drama')
  assert vocab.dropped == {'News': 9, 'Reality-TV': 1, 'Western': 0}
  assert vocab.counts['Drama'] == 50


def test_no_genre_left_is_a_clear_error():
  with pytest.raises(ValueError, match='No genre has at least 10'):
    vocabulary.select_vocabulary({'Drama': 3}, ['Drama'], min_count=10, labelled_posters=3)


def test_counts_for_unknown_genres_are_rejected():
  with pytest.raises(ValueError, match='not candidates'):
    vocabulary.select_vocabulary({'Drama': 30, 'Opera': 30}, ['Drama'], min_count=1,
                                 labelled_posters=60)


def test_multi_hot_follows_vocabulary_order():
  assert vocabulary.multi_hot(['Drama', 'Action', 'News'], ('Action', 'Comedy', 'Drama')) \
      == (1, 0, 1)


def test_vocabulary_file_round_trip(tmp_path):
  vocabulary.write_vocabulary(str(tmp_path), ['Action', 'Sci-Fi'])
  assert vocabulary.read_vocabulary(str(tmp_path)) == ('Action', 'Sci-Fi')
