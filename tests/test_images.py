"""Image checks: usable posters are measured, unusable ones are rejected with a reason."""
import hashlib

import pytest

from contract import images
from tests.synthetic import poster_bytes


@pytest.mark.parametrize('mode,image_format', [
    ('RGB', 'JPEG'), ('L', 'JPEG'), ('CMYK', 'JPEG'), ('RGBA', 'PNG'), ('P', 'PNG'),
])
def test_supported_posters_are_measured(mode, image_format):
  data = poster_bytes(width=40, height=60, mode=mode, image_format=image_format)
  info = images.inspect_image(data)
  assert (info.width, info.height) == (40, 60)
  assert info.colour_mode == mode and info.image_format == image_format
  assert info.byte_size == len(data)
  assert info.sha256 == hashlib.sha256(data).hexdigest()
  assert info.aspect_ratio == pytest.approx(40 / 60)
  assert 0.0 <= info.mean_brightness <= 1.0


@pytest.mark.parametrize('data,reason', [
    (b'', images.EMPTY_IMAGE),
    (b'this is not an image at all', images.UNDECODABLE_IMAGE),
    (poster_bytes(width=200, height=300)[:2000], images.TRUNCATED_IMAGE),
    (poster_bytes(image_format='GIF'), images.UNSUPPORTED_IMAGE_FORMAT),
    (poster_bytes(image_format='BMP'), images.UNSUPPORTED_IMAGE_FORMAT),
])
def test_unusable_images_are_rejected_with_a_reason(data, reason):
  with pytest.raises(images.PosterImageError) as raised:
    images.inspect_image(data)
  assert raised.value.reason == reason
  assert raised.value.detail


def test_corrupt_stream_after_valid_header_is_undecodable_or_truncated():
  data = bytearray(poster_bytes(width=200, height=300))
  data[600:] = b'\x00' * (len(data) - 600)
  with pytest.raises(images.PosterImageError) as raised:
    images.inspect_image(bytes(data))
  assert raised.value.reason in (images.UNDECODABLE_IMAGE, images.TRUNCATED_IMAGE)
