"""Deterministic, leak-free assignment of posters to train / eval / test.

The split key is the SHA-256 of the image bytes, not the poster Id: byte-identical posters
filed under different Ids always land in the same split, so a copy can never sit in train
while its twin is scored in test. Splitting happens here, before anything is oversampled,
so no oversampled copy can reach eval or test either.
"""
import bisect
from typing import List, Sequence, Tuple

from tfx.proto import example_gen_pb2


def split_buckets_from_output_config(
    output_config: example_gen_pb2.Output) -> List[Tuple[str, int]]:
  """(split name, hash buckets) pairs from an ExampleGen output config."""
  splits = output_config.split_config.splits
  if not splits:
    raise ValueError('PosterExampleGen needs output_config.split_config.splits.')
  buckets = [(split.name, split.hash_buckets) for split in splits]
  for name, count in buckets:
    if not name or count < 1:
      raise ValueError(f'Split {name!r} needs a name and at least one hash bucket.')
  if len({name for name, _ in buckets}) != len(buckets):
    raise ValueError(f'Split names repeat: {[name for name, _ in buckets]}')
  return buckets


def assign_split(content_sha256: str, split_buckets: Sequence[Tuple[str, int]]) -> str:
  """Maps a hex SHA-256 digest to a split name, in proportion to the buckets.

  The digest is already uniformly distributed, so its value modulo the total bucket count
  picks a bucket; cumulative bucket boundaries map the bucket to a split.
  """
  boundaries = []
  total = 0
  for _, count in split_buckets:
    total += count
    boundaries.append(total)
  bucket = int(content_sha256, 16) % total
  return split_buckets[bisect.bisect_right(boundaries, bucket)][0]
