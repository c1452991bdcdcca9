"""Slicing buckets: every poster gets exactly one bucket per metadata feature, edges included."""
import dataclasses

import pytest

from components.poster_example_gen import buckets
from components.poster_example_gen import examples
from contract import features
from contract import images
from tests.synthetic import poster_bytes


def _info(width=300, height=445, brightness=0.45):
  info = images.inspect_image(poster_bytes(width=40, height=60))
  return dataclasses.replace(info, width=width, height=height, mean_brightness=brightness)


@pytest.mark.parametrize('width,height,expected', [
    (200, 400, 'narrow'), (260, 400, 'standard'), (300, 445, 'standard'),
    (288, 400, 'wide'), (500, 300, 'wide')])
def test_aspect_ratio_buckets_include_their_lower_edge(width, height, expected):
  assert buckets.slicing_buckets(_info(width, height))[features.ASPECT_RATIO_BUCKET] == expected


@pytest.mark.parametrize('width,height,expected', [
    (200, 300, 'small'), (250, 400, 'standard'), (300, 445, 'standard'), (400, 600, 'large')])
def test_size_buckets_count_pixels(width, height, expected):
  assert buckets.slicing_buckets(_info(width, height))[features.SIZE_BUCKET] == expected


@pytest.mark.parametrize('brightness,expected', [
    (0.0, 'dark'), (0.29, 'dark'), (0.3, 'medium'), (0.59, 'medium'), (0.6, 'bright'),
    (1.0, 'bright')])
def test_brightness_buckets(brightness, expected):
  assert buckets.slicing_buckets(_info(brightness=brightness))[
      features.BRIGHTNESS_BUCKET] == expected


def test_examples_carry_the_buckets_as_single_strings():
  example = examples.build_example('tt1', b'bytes', _info(200, 400, 0.8), ['Drama'],
                                   ['Comedy', 'Drama'])
  feature = example.features.feature
  assert feature[features.ASPECT_RATIO_BUCKET].bytes_list.value == [b'narrow']
  assert feature[features.SIZE_BUCKET].bytes_list.value == [b'small']
  assert feature[features.BRIGHTNESS_BUCKET].bytes_list.value == [b'bright']
