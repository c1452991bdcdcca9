"""The poster-genre TFX pipeline: one definition, wired here, run by any runner.

    PosterExampleGen -> StatisticsGen -> ExampleValidator (vs the committed schema,
                        ImportSchemaGen) -> DataGate (anomalies or drift stop the run)
                     -> Transform (graph only: decode, resize, normalize)
                     -> PosterEmbedder (every poster through the frozen backbone, once)
                     -> RareGenreOversampler (train split of the embedded examples)
                     -> Trainer -> Evaluator (eval: per-genre and macro gate vs the served
                                  model) -> Pusher
                                -> TestEvaluator (test: reporting only) -> SliceReport

The backbone is nearly all of a run's arithmetic, so PosterEmbedder runs it once per poster
and everything after it reads the stored embedding: the Trainer trains the head on it and
both Evaluators score both models (candidate and served) through the head alone. The
oversampler repeats examples (~35 KB each: the JPEG and its embedding) and Transform does not
materialize transformed posters (~600 KB of floats each): what still needs the image (the
Trainer, for an entry it cannot trust; the exported model, at serving) applies the Transform
graph to the raw bytes. A model without a frozen backbone (`simple_cnn`) has no embedding to
store: its run has no PosterEmbedder, and the rest reads PosterExampleGen's examples.

Building does no I/O: what depends on the data (the genres, the genres the gate judges, the
served baseline, the accepted drift baseline) is decided by the components when they run, so
the same definition compiles for Kubeflow or Vertex AI without the data at hand. It has no
resolver nodes, so open-source Kubeflow Pipelines runs it as Vertex AI does.

With spans on (continuous training, every runner: docs/continuous_training.md), a run
ingests the newest span only, and PosterEmbedder embeds that span's posters once in their
life:

    PosterExampleGen (new span) -> StatisticsGen, validation, DataGate (drift vs the data
                                   accepted before: the previous span)
                                -> Transform (graph only: no analyzers, so one span will do)
                                -> PosterEmbedder (new span) -> SpanWindow
    SpanWindow: window (manifest) -> oversampler (every span's embedded train) -> Trainer
                window_examples (every span's embedded examples) -> Evaluators, SliceReport

where the window is the newest `span_window` spans (all by default): SpanWindow adds the new
span to the window the previous run published in `span_window_dir`, so no resolver is
needed, on any orchestrator.
"""
# TFX's modules, not `tfx.v1`: that imports its Google Cloud extensions (the Vertex AI SDK),
# about 5 s of every run's start, which only a Vertex AI training run needs (pipeline/cloud.py).
from tfx import components as tfx_components
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import pusher_pb2
from tfx.proto import trainer_pb2

from components.data_gate.component import DataGate
from components.embedder.component import PosterEmbedder
from components.evaluator.component import GenreEvaluator
from components.oversampler.component import RareGenreOversampler
from components.poster_example_gen.component import PosterExampleGen
from components.slice_report.component import SliceReport
from components.span_window.component import SpanWindowComponent
from contract import nodes
import knobs
from pipeline import cloud
from pipeline.configs import PipelineConfig

def poster_example_gen(config: PipelineConfig) -> PosterExampleGen:
  """The ingest node (also what `python -m pipeline.schema_candidate` infers a schema from)."""
  return PosterExampleGen(
      input_base=config.data_root,
      split_buckets=dict(config.split_buckets),
      min_genre_count=config.min_genre_count,
      min_poster_side=config.min_poster_side,
      labels_file=config.labels_pattern,
      images_dir=config.images_pattern,
      image_extension=config.image_extension,
      vocabulary_file=config.genre_vocabulary_file if config.spans else None,
  ).with_id(nodes.EXAMPLE_GEN)


def create_pipeline(config: PipelineConfig) -> tfx_pipeline.Pipeline:
  """Builds the pipeline from `config`; every runner builds its pipeline here."""
  example_gen = poster_example_gen(config)
  # With spans, the new span's examples.
  examples = example_gen.outputs[nodes.EXAMPLES]

  statistics_gen = tfx_components.StatisticsGen(examples=examples).with_id(
      nodes.STATISTICS_GEN)

  # The curated data contract, never re-inferred from the data it is meant to check.
  schema_gen = ImportSchemaGen(schema_file=config.schema_file).with_id(
      nodes.SCHEMA_GEN)

  example_validator = tfx_components.ExampleValidator(
      statistics=statistics_gen.outputs['statistics'],
      schema=schema_gen.outputs['schema']).with_id(nodes.EXAMPLE_VALIDATOR)

  data_gate = DataGate(
      statistics=statistics_gen.outputs['statistics'],
      schema=schema_gen.outputs['schema'],
      anomalies=example_validator.outputs['anomalies'],
      accepted_statistics_dir=config.accepted_statistics_dir,
      allow_anomalies=config.allow_anomalies).with_id(nodes.DATA_GATE)

  transform = tfx_components.Transform(
      examples=examples,
      schema=schema_gen.outputs['schema'],
      preprocessing_fn=config.preprocessing_fn,
      custom_config=config.transform_custom_config,
      materialize=False,
      disable_statistics=True).with_id(nodes.TRANSFORM)

  embedding_nodes = []
  # Without spans, the Evaluators' and the report's examples are this run's.
  window_examples = examples
  if config.trainer.frozen_backbone:
    embedder = PosterEmbedder(
        examples=examples, transform_graph=transform.outputs['transform_graph'],
        trainer=config.trainer).with_id(nodes.EMBEDDER)
    embedder.add_upstream_node(data_gate)
    embedding_nodes = [embedder]
    window_examples = embedder.outputs[nodes.EMBEDDED_EXAMPLES]
  oversampled = dict(examples=window_examples)
  if config.spans:
    span_window = SpanWindowComponent(
        examples=examples, embedded_examples=embedder.outputs[nodes.EMBEDDED_EXAMPLES],
        window_dir=config.span_window_dir,
        num_spans=config.span_window).with_id(nodes.SPAN_WINDOW)
    embedding_nodes.append(span_window)
    oversampled = dict(window=span_window.outputs[nodes.WINDOW])
    window_examples = span_window.outputs[nodes.WINDOW_EXAMPLES]

  oversampler = RareGenreOversampler(
      **oversampled,
      split='train',
      max_copies=config.oversample_max_copies,
      max_growth=config.oversample_max_growth).with_id(nodes.OVERSAMPLER)
  # Nothing that costs minutes starts before the data passed the gate.
  transform.add_upstream_node(data_gate)
  oversampler.add_upstream_node(data_gate)

  # Trains in the pipeline's task, or on Vertex AI Training when configured (pipeline/cloud.py).
  trainer = cloud.trainer_component(config.cloud)(
      run_fn=config.run_fn,
      examples=oversampler.outputs[nodes.OVERSAMPLED_EXAMPLES],
      transform_graph=transform.outputs['transform_graph'],
      schema=schema_gen.outputs['schema'],
      train_args=trainer_pb2.TrainArgs(splits=['train']),
      eval_args=trainer_pb2.EvalArgs(splits=['eval']),
      custom_config={**knobs.as_custom_config(config.trainer),
                     **cloud.vertex_training_config(config.cloud)}).with_id(nodes.TRAINER)

  evaluator = GenreEvaluator(
      examples=window_examples,
      model=trainer.outputs[nodes.MODEL],
      split='eval',
      serving_model_dir=config.serving_model_dir,
      gate=config.gate,
      sliced=False).with_id(nodes.EVALUATOR)

  # With the same baseline as the gate, so that the report shows every test metric beside
  # the served model's and the change.
  test_evaluator = GenreEvaluator(
      examples=window_examples,
      model=trainer.outputs[nodes.MODEL],
      split='test',
      serving_model_dir=config.serving_model_dir).with_id(nodes.TEST_EVALUATOR)

  # The test evaluation as a static HTML page, the gate decision (on eval) at its top.
  slice_report = SliceReport(
      evaluation=test_evaluator.outputs[nodes.EVALUATION],
      examples=window_examples,
      split='test',
      gate_evaluation=evaluator.outputs[nodes.EVALUATION]).with_id(nodes.SLICE_REPORT)

  pusher = tfx_components.Pusher(
      model=trainer.outputs[nodes.MODEL],
      model_blessing=evaluator.outputs[nodes.BLESSING],
      push_destination=pusher_pb2.PushDestination(
          filesystem=pusher_pb2.PushDestination.Filesystem(
              base_directory=config.serving_model_dir))).with_id(nodes.PUSHER)
  # The test evaluation compares with the model served before this run's push.
  pusher.add_upstream_node(test_evaluator)

  metadata_config = (
      metadata.sqlite_metadata_connection_config(config.metadata_path)
      if config.metadata_path else None)
  return tfx_pipeline.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=[example_gen, statistics_gen, schema_gen, example_validator, data_gate,
                  transform, *embedding_nodes, oversampler, trainer,
                  evaluator, test_evaluator, slice_report, pusher],
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata_config,
      beam_pipeline_args=config.beam_pipeline_args)
