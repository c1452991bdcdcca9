"""How many copies of each training poster the oversampler writes.

A poster's desired copy count comes from its rarest genre: a poster whose rarest genre has
`c` training positives gets round(reference / c) copies, where `reference` is the median
positive count over the genres, clamped to [1, max_copies]. Posters of common genres only
stay single. If the desired copies would grow the split beyond `max_growth` times its size,
every extra copy is scaled down by one common factor, so rare genres keep their ordering.

The defaults (at most 4 copies of a poster, at most 3x growth) keep the train split cheap to
write and read, and keep a rare genre's few posters from being repeated so often that the
model learns them by heart.
"""
import collections
import statistics
from typing import Dict, Mapping, Sequence

import numpy as np

DEFAULT_MAX_COPIES = 4
DEFAULT_MAX_GROWTH = 3.0


def validate(max_copies: int, max_growth: float) -> None:
  if max_copies < 1:
    raise ValueError(f'max_copies must be at least 1, got {max_copies}')
  if max_growth < 1.0:
    raise ValueError(f'max_growth must be at least 1.0, got {max_growth}')


def reference_count(genre_counts: Sequence[int]) -> float:
  """Median positive count over the genres that have any positives."""
  present = [c for c in genre_counts if c > 0]
  return statistics.median(present) if present else 0.0


def desired_copies(labels: Sequence[int], genre_counts: Sequence[int], reference: float,
                   max_copies: int) -> int:
  """Copies wanted for one poster, from its rarest genre."""
  counts = [c for label, c in zip(labels, genre_counts) if label and c > 0]
  if not counts:
    return 1
  return int(min(max_copies, max(1, round(reference / min(counts)))))


def growth_limited_copies(desired_histogram: Mapping[int, int],
                          max_growth: float) -> Dict[int, int]:
  """Maps each desired copy count d to a final count 1 + floor((d - 1) * s).

  `s` in [0, 1] is the largest scale (to 1/1000) whose total stays within
  `max_growth` x the number of posters; s = 1 when the desired copies already fit.
  """
  posters = sum(desired_histogram.values())
  budget = max_growth * posters

  def table(scale: float) -> Dict[int, int]:
    return {d: 1 + int(np.floor((d - 1) * scale + 1e-9)) for d in desired_histogram}

  def total(mapping: Mapping[int, int]) -> int:
    return sum(mapping[d] * n for d, n in desired_histogram.items())

  if total(table(1.0)) <= budget:
    return table(1.0)
  low, high = 0, 1000  # Scale in thousandths; table(0) is all ones, always within budget.
  while low < high:
    mid = (low + high + 1) // 2
    if total(table(mid / 1000)) <= budget:
      low = mid
    else:
      high = mid - 1
  return table(low / 1000)


def plan_copies(label_matrix: np.ndarray, max_copies: int = DEFAULT_MAX_COPIES,
                max_growth: float = DEFAULT_MAX_GROWTH) -> np.ndarray:
  """Copies per poster (row) of a [posters, genres] 0/1 matrix: the whole policy at once.

  The Beam executor computes the same thing in passes over the split; this form is for
  tests and for reasoning about the policy.
  """
  validate(max_copies, max_growth)
  genre_counts = label_matrix.sum(axis=0).tolist()
  reference = reference_count(genre_counts)
  desired = [desired_copies(row, genre_counts, reference, max_copies)
             for row in label_matrix.tolist()]
  final = growth_limited_copies(collections.Counter(desired), max_growth)
  return np.array([final[d] for d in desired], dtype=np.int64)
