"""The pipeline's node ids and output keys: the names under which its artifacts are found.

TFX lays a local run out as `<pipeline_root>/<node id>/<output key>/<execution id>/` and
ML Metadata records the same names, so runners and reports find outputs by these constants.
pipeline/pipeline.py gives its nodes these ids; this module imports no TFX, so reading a
run's outputs does not need the pipeline's definition.
"""
EXAMPLE_GEN = 'PosterExampleGen'
STATISTICS_GEN = 'StatisticsGen'
SCHEMA_GEN = 'ImportSchemaGen'
EXAMPLE_VALIDATOR = 'ExampleValidator'
DATA_GATE = 'DataGate'
TRANSFORM = 'Transform'
EMBEDDER = 'PosterEmbedder'
SPAN_WINDOW = 'SpanWindow'
OVERSAMPLER = 'RareGenreOversampler'
TRAINER = 'Trainer'
# The Evaluator on `eval` gates the push; the one on `test` reports only.
EVALUATOR = 'Evaluator'
TEST_EVALUATOR = 'TestEvaluator'
SLICE_REPORT = 'SliceReport'
PUSHER = 'Pusher'

# Output keys.
EXAMPLES = 'examples'
INGEST_SUMMARY = 'ingest_summary'
EMBEDDED_EXAMPLES = 'embedded_examples'
WINDOW = 'window'
WINDOW_EXAMPLES = 'window_examples'
OVERSAMPLED_EXAMPLES = 'oversampled_examples'
OVERSAMPLING_SUMMARY = 'oversampling_summary'
DRIFT = 'drift'
MODEL = 'model'
EVALUATION = 'evaluation'
BLESSING = 'blessing'
REPORT = 'report'
