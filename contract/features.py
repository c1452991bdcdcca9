"""Feature keys of the tf.Examples that PosterExampleGen writes.

Every later stage (Transform, the oversampler, the Trainer, TFMA slicing) reads these names
from here rather than repeating string literals.
"""

ID = 'id'
# The original encoded poster bytes, unchanged (JPEG or PNG).
IMAGE = 'image'
# Names of the poster's genres that are in the vocabulary (bytes list).
GENRES = 'genres'
# Multi-hot int64 vector in vocabulary order (length = vocabulary size).
LABELS = 'labels'

# Cheap per-poster metadata, for slicing and data validation.
N_GENRES = 'n_genres'
WIDTH = 'width'
HEIGHT = 'height'
ASPECT_RATIO = 'aspect_ratio'  # width / height; posters are about 2:3 (0.67).
COLOUR_MODE = 'colour_mode'  # PIL mode of the stored image: RGB, L, CMYK, RGBA, P, ...
IMAGE_FORMAT = 'image_format'  # JPEG or PNG.
BYTE_SIZE = 'byte_size'
MEAN_BRIGHTNESS = 'mean_brightness'  # Mean luma in [0, 1].
# Buckets of the above for slicing (edges in buckets.py): TFMA slices on exact values.
ASPECT_RATIO_BUCKET = 'aspect_ratio_bucket'  # narrow, standard, wide
SIZE_BUCKET = 'size_bucket'  # small, standard, large (pixel count)
BRIGHTNESS_BUCKET = 'brightness_bucket'  # dark, medium, bright
# Hex SHA-256 of the image bytes: the split key, so identical images share a split.
IMAGE_SHA256 = 'image_sha256'

# The Transform graph's output: the poster as the model's input (models/preprocessing.py).
IMAGE_XF = 'image_xf'
# The dense float multi-hot labels that the exported model's `transform_features` signature
# gives TFMA (models/export.py).
LABELS_XF = 'labels_xf'

# What PosterEmbedder adds to each example (models/embeddings.py): the frozen backbone's
# output for the poster, the key of the backbone and preprocessing that made it, and a
# checksum of the entry.
EMBEDDING = 'embedding'
EMBEDDING_KEY = 'embedding_key'
EMBEDDING_CHECKSUM = 'embedding_checksum'
