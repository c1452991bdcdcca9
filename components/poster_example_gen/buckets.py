"""Coarse buckets of the poster metadata, for TFMA slicing.

TFMA slices on exact feature values, so a float such as the aspect ratio would give one slice
per poster. The bucket edges live here, once; they were chosen from the shared data (400
random posters: width is 300 px for the large majority, aspect ratio 0.63-0.75 for 90 %,
mean luma spread over 0.17-0.76), so that the middle bucket holds the typical poster and the
outer buckets the kinds the model may fail on.
"""
import bisect
from typing import Dict, Sequence

from contract import features
from contract.images import ImageInfo

# (upper edges, names): a value below edges[i] gets names[i], anything else the last name.
ASPECT_RATIO_BUCKETS = ((0.65, 0.72), ('narrow', 'standard', 'wide'))
# Pixel count: a 300 x 445 poster has about 133,000 pixels.
SIZE_BUCKETS = ((100_000, 150_000), ('small', 'standard', 'large'))
BRIGHTNESS_BUCKETS = ((0.3, 0.6), ('dark', 'medium', 'bright'))


def _bucket(value: float, edges: Sequence[float], names: Sequence[str]) -> str:
  return names[bisect.bisect_right(edges, value)]


def slicing_buckets(info: ImageInfo) -> Dict[str, str]:
  """{bucket feature name: bucket name} of one poster."""
  return {
      features.ASPECT_RATIO_BUCKET: _bucket(info.aspect_ratio, *ASPECT_RATIO_BUCKETS),
      features.SIZE_BUCKET: _bucket(info.width * info.height, *SIZE_BUCKETS),
      features.BRIGHTNESS_BUCKET: _bucket(info.mean_brightness, *BRIGHTNESS_BUCKETS),
  }
