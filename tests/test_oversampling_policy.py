"""The oversampling policy: rare genres up, common ones alone, caps always respected."""
import collections

import numpy as np
import pytest

from components.oversampler import policy


def _matrix(rows):
  return np.array(rows, dtype=np.int64)


def _imbalanced(rng, posters=2000):
  """Genre 0 very common, genre 4 rare, the rest in between; 1-3 genres a poster."""
  rates = np.array([0.6, 0.3, 0.2, 0.1, 0.01])
  labels = (rng.random((posters, rates.size)) < rates).astype(np.int64)
  labels[labels.sum(axis=1) == 0, 0] = 1
  return labels


def test_rare_genres_gain_and_common_only_posters_stay_single():
  labels = _imbalanced(np.random.default_rng(0))
  copies = policy.plan_copies(labels)
  before = labels.sum(axis=0)
  after = (labels * copies[:, None]).sum(axis=0)
  growth = after / before
  assert growth[4] > growth[0]
  assert growth[4] >= 2.0
  only_common = (labels[:, 0] == 1) & (labels[:, 1:].sum(axis=1) == 0)
  assert np.all(copies[only_common] == 1)


@pytest.mark.parametrize('max_copies,max_growth', [(4, 3.0), (10, 1.5), (2, 3.0), (1, 3.0)])
def test_caps_on_copies_and_growth_hold(max_copies, max_growth):
  labels = _imbalanced(np.random.default_rng(1))
  copies = policy.plan_copies(labels, max_copies=max_copies, max_growth=max_growth)
  assert copies.min() >= 1
  assert copies.max() <= max_copies
  assert copies.sum() <= max_growth * len(labels)


def test_growth_cap_scales_copies_down_keeping_their_order():
  table = policy.growth_limited_copies({1: 10, 2: 10, 5: 80}, max_growth=2.0)
  assert table[1] == 1
  assert table[1] <= table[2] <= table[5]
  assert sum(table[d] * n for d, n in {1: 10, 2: 10, 5: 80}.items()) <= 200


def test_uncapped_plan_is_the_desired_plan():
  assert policy.growth_limited_copies({1: 5, 3: 1}, max_growth=3.0) == {1: 1, 3: 3}


def test_desired_copies_come_from_the_rarest_genre():
  counts = [1000, 100, 10]
  reference = policy.reference_count(counts)  # median: 100
  assert policy.desired_copies([1, 0, 0], counts, reference, max_copies=4) == 1
  assert policy.desired_copies([1, 1, 0], counts, reference, max_copies=4) == 1
  assert policy.desired_copies([1, 0, 1], counts, reference, max_copies=4) == 4  # capped
  assert policy.desired_copies([0, 0, 0], counts, reference, max_copies=4) == 1


def test_plan_is_deterministic_and_counts_match():
  labels = _imbalanced(np.random.default_rng(2), posters=500)
  first = policy.plan_copies(labels)
  assert np.array_equal(first, policy.plan_copies(labels))
  assert collections.Counter(first.tolist())[1] > 0


@pytest.mark.parametrize('max_copies,max_growth', [(0, 3.0), (4, 0.5)])
def test_invalid_caps_are_rejected(max_copies, max_growth):
  with pytest.raises(ValueError):
    policy.validate(max_copies, max_growth)
