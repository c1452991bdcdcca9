"""The Transform graph: any supported poster becomes a fixed-size RGB float image."""
import numpy as np
import pytest
import tensorflow as tf

from contract import features
import knobs
from models import settings
from models import preprocessing
from tests import synthetic
import transform_module
from tests.synthetic import poster_bytes

CONFIG = {'image_height': 48, 'image_width': 32, 'resize_policy': 'pad',
          'normalization': 'unit'}
POSTERS = [('RGB', 'JPEG'), ('L', 'JPEG'), ('CMYK', 'JPEG'), ('RGBA', 'PNG'), ('RGB', 'PNG'),
           ('P', 'PNG')]


def _transform(images, config=CONFIG):
  """Through the Transform's entry point, as tf.Transform calls it."""
  return transform_module.preprocessing_fn({'image': tf.constant([[b] for b in images])},
                                           config)


def test_every_colour_mode_and_format_becomes_rgb_of_the_configured_size():
  images = [poster_bytes(width=60, height=90, mode=m, image_format=f, seed=i)
            for i, (m, f) in enumerate(POSTERS)]
  out = _transform(images)
  image = out[features.IMAGE_XF]
  assert image.shape == (len(POSTERS), 48, 32, 3)
  assert image.dtype == tf.float32
  assert float(tf.reduce_min(image)) >= 0.0 and float(tf.reduce_max(image)) <= 1.0
  # Noise posters average mid-grey whatever their colour mode: nothing decoded to black.
  assert np.all(tf.reduce_mean(image, axis=[1, 2, 3]).numpy() > 0.3)


def test_only_the_image_is_transformed():
  assert set(_transform([poster_bytes()])) == {features.IMAGE_XF}


def test_settings_out_of_their_choices_are_refused():
  with pytest.raises(knobs.SettingError, match='resize_policy'):
    _transform([poster_bytes()], {**CONFIG, 'resize_policy': 'squash'})


@pytest.mark.parametrize('policy', settings.RESIZE_POLICIES)
def test_resize_policies_give_the_target_size_for_odd_aspect_ratios(policy):
  wide = poster_bytes(width=120, height=40)
  out = _transform([wide], {**CONFIG, 'resize_policy': policy})
  assert out[features.IMAGE_XF].shape == (1, 48, 32, 3)


def test_pad_keeps_the_aspect_ratio():
  wide = poster_bytes(width=120, height=40)
  image = _transform([wide])[features.IMAGE_XF][0].numpy()
  # A 3:1 image in a 48x32 frame fills about 11 rows; the rest is padding.
  filled_rows = int((image.max(axis=(1, 2)) > 0).sum())
  assert 9 <= filled_rows <= 13


def test_symmetric_normalization_range():
  out = _transform([poster_bytes()], {**CONFIG, 'normalization': 'symmetric'})
  image = out[features.IMAGE_XF]
  assert float(tf.reduce_min(image)) >= -127.0 / 128.0
  assert float(tf.reduce_max(image)) <= 1.0
  assert float(tf.reduce_min(image)) < 0.0


def test_unknown_conventions_are_rejected():
  with pytest.raises(ValueError, match='normalization'):
    _transform([poster_bytes()], {**CONFIG, 'normalization': 'imagenet'})
  with pytest.raises(ValueError, match='resize_policy'):
    _transform([poster_bytes()], {**CONFIG, 'resize_policy': 'squash'})


@pytest.mark.parametrize('width, height, expected', [
    (60, 90, (90, 60)),          # 1/2 (45x30) would not cover 48x32: full scale.
    (200, 300, (75, 50)),        # 1/4 still covers 48x32; 1/8 (38x25) would not.
    (20000, 20000, (2500, 2500)),  # The deepest DCT scale, 1/8.
])
def test_a_large_jpeg_decodes_at_the_smallest_scale_that_covers_the_output(width, height,
                                                                         expected):
  jpeg = (poster_bytes(width=width, height=height) if width < 1000
          else synthetic.uniform_jpeg(width, height))
  height_out, width_out = CONFIG['image_height'], CONFIG['image_width']
  size = preprocessing.decoded_size(tf.constant(jpeg), height_out, width_out).numpy()
  ratio = round(height / int(size[0]))
  assert tuple(size) == expected
  decoded = preprocessing.decode(tf.constant(jpeg), height_out, width_out)
  assert tuple(decoded.shape[:2]) == expected
  np.testing.assert_array_equal(
      decoded.numpy(), tf.io.decode_jpeg(jpeg, channels=3, ratio=ratio).numpy())


def test_posters_no_larger_than_twice_the_output_decode_exactly_as_decode_image():
  # The training data's posters are this small: their pixels are what they always were.
  for mode, image_format in POSTERS:
    data = poster_bytes(width=60, height=90, mode=mode, image_format=image_format)
    np.testing.assert_array_equal(
        preprocessing.decode(tf.constant(data), 48, 32).numpy(),
        tf.io.decode_image(data, channels=3, expand_animations=False).numpy())
  png = poster_bytes(width=61, height=93, image_format='PNG')
  assert preprocessing.decoded_size(tf.constant(png), 48, 32).numpy().tolist() == [93, 61]
