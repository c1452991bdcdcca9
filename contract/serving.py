"""The serving contract, importable without TensorFlow.

models/export.py builds the SavedModel with these names; clients that only speak to TF
Serving (poster_predict/rest_client.py) read them from here without loading TensorFlow.

`serving_default` takes `image_bytes` (string [N]: raw poster files) and answers, for every
poster of the batch, in the same order:
  scores     float [N, G]   per-genre probabilities (0 where status is not ok)
  classes    string [N, G]  the genre names, in score order
  predicted  int32 [N, G]   1 for the genres the eval-tuned decision rule gives the poster
                            (1 to MAX_GENRES of them; none where status is not ok)
  status     string [N]     the poster's outcome, one of STATUSES
A poster that cannot be read costs only itself: the batch is never refused for its content,
and a good poster's answer does not depend on the other posters of its batch.
"""
SERVING_SIGNATURE = 'serving_default'
TF_EXAMPLE_SIGNATURE = 'serving_tf_example'
# The head alone, on examples that carry the frozen backbone's embedding (evaluation).
EMBEDDING_SIGNATURE = 'embedding_tf_example'
TRANSFORM_SIGNATURE = 'transform_features'
IMAGE_BYTES_INPUT = 'image_bytes'
SCORES, CLASSES, PREDICTED, STATUS = 'scores', 'classes', 'predicted', 'status'

# Decoding a poster never takes more pixels than this (a 4096 x 4096 image: 48 MiB as RGB
# bytes). A JPEG is decoded at 1/2, 1/4 or 1/8 scale when that still covers the model's
# input, so only JPEGs beyond 32768 x 32768 pixels, or PNGs beyond this many, are refused.
MAX_DECODED_PIXELS = 4096 * 4096

OK = 'ok'
EMPTY = 'empty'
NOT_AN_IMAGE = 'not_an_image'
UNSUPPORTED_FORMAT = 'unsupported_format'
TRUNCATED = 'truncated'
TOO_LARGE = 'too_large'
CORRUPT = 'corrupt'
# The status codes of the graph index this tuple.
STATUSES = (OK, EMPTY, NOT_AN_IMAGE, UNSUPPORTED_FORMAT, TRUNCATED, TOO_LARGE, CORRUPT)
# What each status means, for people.
STATUS_MESSAGES = {
    OK: 'tagged',
    EMPTY: 'the file has zero bytes',
    NOT_AN_IMAGE: 'not a JPEG or PNG image',
    UNSUPPORTED_FORMAT: 'an image format the model does not read (GIF, BMP, WebP or TIFF); '
                        'send JPEG or PNG',
    TRUNCATED: 'the image data end early (an incomplete file or upload)',
    TOO_LARGE: f'too large: decoding it would take more than {MAX_DECODED_PIXELS:,} pixels',
    CORRUPT: 'a JPEG or PNG whose image data cannot be decoded',
}
