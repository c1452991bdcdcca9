"""Names of the serving contract, importable without TensorFlow.

models/export.py builds the SavedModel with these names; clients that only speak to TF
Serving (poster_predict/rest_client.py) read them from here without loading TensorFlow.
"""
SERVING_SIGNATURE = 'serving_default'
TF_EXAMPLE_SIGNATURE = 'serving_tf_example'
TRANSFORM_SIGNATURE = 'transform_features'
IMAGE_BYTES_INPUT = 'image_bytes'
SCORES, CLASSES, PREDICTED = 'scores', 'classes', 'predicted'
