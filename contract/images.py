"""Checks one poster's bytes and measures the cheap metadata kept for slicing.

A poster is kept only if it fully decodes: a poster that Transform or TF Serving cannot
decode would otherwise fail a whole Beam stage far from its cause. Rejections carry a reason
that the ingest summary counts.
"""
import dataclasses
import hashlib
import io
import warnings

from PIL import Image
from PIL import ImageStat

# The formats that the model's decoder (tf.io.decode_image in the transform graph) handles
# and that the serving contract promises.
SUPPORTED_FORMATS = ('JPEG', 'PNG')

# Exclusion reasons for posters whose image is unusable.
MISSING_IMAGE = 'missing_image'
EMPTY_IMAGE = 'empty_image'
TRUNCATED_IMAGE = 'truncated_image'
UNDECODABLE_IMAGE = 'undecodable_image'
UNSUPPORTED_IMAGE_FORMAT = 'unsupported_image_format'
TOO_SMALL_IMAGE = 'too_small_image'

# Brightness is measured on a thumbnail: the bucket does not need full resolution.
_BRIGHTNESS_THUMBNAIL = (64, 64)


class PosterImageError(ValueError):
  """The image cannot be used; `reason` is one of the exclusion reasons above."""

  def __init__(self, reason: str, detail: str):
    super().__init__(f'{reason}: {detail}')
    self.reason = reason
    self.detail = detail


@dataclasses.dataclass(frozen=True)
class ImageInfo:
  image_format: str
  width: int
  height: int
  colour_mode: str
  byte_size: int
  sha256: str
  mean_brightness: float  # Mean luma, in [0, 1].

  @property
  def aspect_ratio(self) -> float:
    return self.width / self.height


def inspect_image(data: bytes, min_side: int = 1) -> ImageInfo:
  """Fully decodes `data`; raises PosterImageError when it is not a usable poster.

  `min_side`: posters narrower or lower than this (in pixels) are refused as too small: a
  1x1 or icon-sized image resized to the model's input carries no genre.
  """
  if not data:
    raise PosterImageError(EMPTY_IMAGE, 'the file has zero bytes')
  with warnings.catch_warnings():
    # PIL warns (DecompressionBombWarning) before it raises for huge images; the error
    # path below reports those.
    warnings.simplefilter('ignore', Image.DecompressionBombWarning)
    try:
      image = Image.open(io.BytesIO(data))
    except Exception as error:  # PIL raises several types for unreadable headers.
      raise PosterImageError(UNDECODABLE_IMAGE, f'not a readable image ({error})') from error
    if image.format not in SUPPORTED_FORMATS:
      raise PosterImageError(UNSUPPORTED_IMAGE_FORMAT,
                             f'{image.format} (supported: {", ".join(SUPPORTED_FORMATS)})')
    try:
      image.load()
    except OSError as error:
      if 'truncated' in str(error):
        raise PosterImageError(TRUNCATED_IMAGE, str(error)) from error
      raise PosterImageError(UNDECODABLE_IMAGE, str(error)) from error
    except Exception as error:  # Corrupt streams surface as assorted exception types.
      raise PosterImageError(UNDECODABLE_IMAGE, str(error)) from error

  width, height = image.size
  if width < 1 or height < 1:
    raise PosterImageError(UNDECODABLE_IMAGE, f'image has size {width}x{height}')
  if min(width, height) < min_side:
    raise PosterImageError(TOO_SMALL_IMAGE,
                           f'{width}x{height} px, under the minimum of {min_side} px a side')
  thumbnail = image.convert('RGB').convert('L')
  thumbnail.thumbnail(_BRIGHTNESS_THUMBNAIL)
  return ImageInfo(
      image_format=image.format,
      width=width,
      height=height,
      colour_mode=image.mode,
      byte_size=len(data),
      sha256=hashlib.sha256(data).hexdigest(),
      mean_brightness=ImageStat.Stat(thumbnail).mean[0] / 255.0)
