"""The poster-genre TFX pipeline: one definition, wired here, run by any runner.

    PosterExampleGen -> StatisticsGen -> ExampleValidator (vs the committed schema,
                        ImportSchemaGen) -> DataGate (anomalies or drift stop the run)
                     -> Transform (graph only: decode, resize, normalize)
                     -> RareGenreOversampler (train split of the raw examples)
                     -> Trainer -> Evaluator (eval: per-genre and macro gate vs the latest
                                  blessed model) -> Pusher
                                -> Evaluator (test: reporting only) -> SliceReport

The oversampler repeats raw examples (~30 KB of JPEG each) and Transform does not
materialize transformed posters (~600 KB of floats each): the Trainer applies the Transform
graph to the oversampled raw examples, as the exported model does to raw bytes at serving.
"""
import os

from tfx import v1 as tfx

from components.data_gate.component import DataGate
from components.oversampler.component import RareGenreOversampler
from components.poster_example_gen.component import PosterExampleGen
from components.poster_example_gen.vocabulary import vocabulary_of_labels_file
from components.slice_report.component import SliceReport
from pipeline import cloud
from pipeline.configs import PipelineConfig
from pipeline.eval_config import build_eval_config
from pipeline.eval_config import judged_genres


# The Evaluator on `test` reports only; the one on `eval` (default id 'Evaluator') gates.
TEST_EVALUATOR_ID = 'TestEvaluator'
DATA_GATE_ID = 'DataGate'
# TFX records a FAILED resolution for it while no run's data have passed the DataGate yet.
ACCEPTED_STATISTICS_RESOLVER_ID = 'accepted_statistics_resolver'


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
  """Builds the pipeline from `config`; `config.data_root` must already be a directory.

  Every runner (local_runner.py, kubeflow_v2_runner.py) builds its pipeline here. Building reads
  the labels file under `config.data_root` (a local path or gs:// URI) for the vocabulary and
  the genres the push gate judges.
  """
  example_gen = PosterExampleGen(
      input_base=config.data_root,
      split_buckets=dict(config.split_buckets),
      min_genre_count=config.min_genre_count,
      min_poster_side=config.min_poster_side,
      labels_file=config.labels_file,
      images_dir=config.images_dir,
      image_extension=config.image_extension)

  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs['examples'])

  # The curated data contract, never re-inferred from the data it is meant to check.
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_file)

  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs['statistics'], schema=schema_gen.outputs['schema'])

  # Drift is measured against the statistics of the last run whose data passed the gate.
  accepted_statistics = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
      statistics=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ExampleStatistics,
                                 producer_component_id=DATA_GATE_ID,
                                 output_key='accepted_statistics'),
  ).with_id(ACCEPTED_STATISTICS_RESOLVER_ID)

  data_gate = DataGate(
      statistics=statistics_gen.outputs['statistics'],
      schema=schema_gen.outputs['schema'],
      anomalies=example_validator.outputs['anomalies'],
      baseline_statistics=accepted_statistics.outputs['statistics'],
      allow_anomalies=config.allow_anomalies).with_id(DATA_GATE_ID)

  # The vocabulary PosterExampleGen will choose, known up front for per-genre metrics and the
  # judged genres; the Trainer checks that the data carry the same number of genres.
  vocabulary = vocabulary_of_labels_file(
      os.path.join(config.data_root, config.labels_file), config.min_genre_count)
  num_genres = len(vocabulary.genres)

  transform = tfx.components.Transform(
      examples=example_gen.outputs['examples'],
      schema=schema_gen.outputs['schema'],
      module_file=config.transform_module_file,
      custom_config=config.transform_config(num_genres),
      materialize=False,
      disable_statistics=True)

  oversampler = RareGenreOversampler(
      examples=example_gen.outputs['examples'],
      split='train',
      max_copies=config.oversample_max_copies,
      max_growth=config.oversample_max_growth)
  # Nothing that costs minutes starts before the data passed the gate.
  transform.add_upstream_node(data_gate)
  oversampler.add_upstream_node(data_gate)

  # Trains in the pipeline's task, or on Vertex AI Training when configured (pipeline/cloud.py).
  trainer = cloud.trainer_component(config)(
      module_file=config.trainer_module_file,
      examples=oversampler.outputs['oversampled_examples'],
      transform_graph=transform.outputs['transform_graph'],
      schema=schema_gen.outputs['schema'],
      train_args=tfx.proto.TrainArgs(splits=['train']),
      eval_args=tfx.proto.EvalArgs(splits=['eval']),
      custom_config={**config.trainer_config(num_genres),
                     **cloud.vertex_training_config(config)})

  latest_blessed_model = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id('latest_blessed_model_resolver')

  evaluator = tfx.components.Evaluator(
      examples=example_gen.outputs['examples'],
      model=trainer.outputs['model'],
      baseline_model=latest_blessed_model.outputs['model'],
      eval_config=build_eval_config(
          num_genres, gate=config.gate,
          judged=judged_genres(vocabulary, config.split_buckets,
                              config.gate.min_genre_posters), sliced=False),
      example_splits=['eval'])

  # With the same baseline as the gate, so that the report shows every test metric beside
  # the served model's and the change.
  test_evaluator = tfx.components.Evaluator(
      examples=example_gen.outputs['examples'],
      model=trainer.outputs['model'],
      baseline_model=latest_blessed_model.outputs['model'],
      eval_config=build_eval_config(num_genres),
      example_splits=['test']).with_id(TEST_EVALUATOR_ID)

  # The test evaluation as a static HTML page, the gate decision (on eval) at its top.
  slice_report = SliceReport(
      evaluation=test_evaluator.outputs['evaluation'],
      examples=example_gen.outputs['examples'],
      split='test',
      gate_evaluation=evaluator.outputs['evaluation'])

  pusher = tfx.components.Pusher(
      model=trainer.outputs['model'],
      model_blessing=evaluator.outputs['blessing'],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=config.serving_model_dir)))

  metadata_config = (
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
      if config.metadata_path else None)
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=[example_gen, statistics_gen, schema_gen, example_validator,
                  accepted_statistics, data_gate, transform, oversampler, trainer,
                  latest_blessed_model, evaluator, test_evaluator, slice_report, pusher],
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata_config,
      beam_pipeline_args=config.beam_pipeline_args)
