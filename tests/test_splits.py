"""Content-hash splits: deterministic, in proportion, and identical bytes never split apart."""
import collections
import hashlib

import pytest
from tfx.proto import example_gen_pb2

from components.poster_example_gen import splits
from components.poster_example_gen.component import make_output_config

BUCKETS = [('train', 8), ('eval', 1), ('test', 1)]


def _digest(i):
  return hashlib.sha256(f'poster-{i}'.encode()).hexdigest()


def test_same_content_always_gets_the_same_split():
  digests = [_digest(i) for i in range(200)]
  first = [splits.assign_split(d, BUCKETS) for d in digests]
  assert first == [splits.assign_split(d, BUCKETS) for d in digests]


def test_split_sizes_follow_the_buckets():
  counts = collections.Counter(splits.assign_split(_digest(i), BUCKETS) for i in range(20000))
  assert counts['train'] / 20000 == pytest.approx(0.8, abs=0.015)
  assert counts['eval'] / 20000 == pytest.approx(0.1, abs=0.01)
  assert counts['test'] / 20000 == pytest.approx(0.1, abs=0.01)


def test_buckets_come_from_the_output_config():
  config = make_output_config({'train': 8, 'eval': 1, 'test': 1})
  assert splits.split_buckets_from_output_config(config) == BUCKETS
  assert config.split_config.partition_feature_name == 'image_sha256'


@pytest.mark.parametrize('split_config', [
    example_gen_pb2.SplitConfig(),
    example_gen_pb2.SplitConfig(splits=[example_gen_pb2.SplitConfig.Split(name='train')]),
    example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name='train', hash_buckets=1),
        example_gen_pb2.SplitConfig.Split(name='train', hash_buckets=1)]),
])
def test_invalid_split_configs_are_rejected(split_config):
  with pytest.raises(ValueError):
    splits.split_buckets_from_output_config(example_gen_pb2.Output(split_config=split_config))
