"""The poster-genre TFX pipeline: one definition, wired here, run by any runner.

    PosterExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator
                     -> Transform (graph only: decode, resize, normalize)
                     -> RareGenreOversampler (train split of the raw examples)

The oversampler repeats raw examples (~30 KB of JPEG each) and Transform does not
materialize transformed posters (~600 KB of floats each): the Trainer applies the Transform
graph to the oversampled raw examples, as the exported model does to raw bytes at serving.
"""
from tfx import v1 as tfx

from components.oversampler.component import RareGenreOversampler
from components.poster_example_gen.component import PosterExampleGen
from pipeline.configs import PipelineConfig


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
  """Builds the pipeline from `config`; `config.data_root` must already be a directory."""
  example_gen = PosterExampleGen(
      input_base=config.data_root,
      split_buckets=dict(config.split_buckets),
      min_genre_count=config.min_genre_count,
      labels_file=config.labels_file,
      images_dir=config.images_dir,
      image_extension=config.image_extension)

  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs['examples'])

  schema_gen = tfx.components.SchemaGen(
      statistics=statistics_gen.outputs['statistics'], infer_feature_shape=True)

  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs['statistics'], schema=schema_gen.outputs['schema'])

  transform = tfx.components.Transform(
      examples=example_gen.outputs['examples'],
      schema=schema_gen.outputs['schema'],
      module_file=config.transform_module_file,
      custom_config=config.transform_config,
      materialize=False,
      disable_statistics=True)

  oversampler = RareGenreOversampler(
      examples=example_gen.outputs['examples'],
      split='train',
      max_copies=config.oversample_max_copies,
      max_growth=config.oversample_max_growth)

  metadata_config = (
      tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
      if config.metadata_path else None)
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=[example_gen, statistics_gen, schema_gen, example_validator, transform,
                  oversampler],
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata_config,
      beam_pipeline_args=config.beam_pipeline_args)
