"""PosterExampleGen: a FileBasedExampleGen for the Kaggle movie-poster layout.

Subclassing FileBasedExampleGen keeps what TFX gives file-based ingestion for free: the
driver fingerprints the labels file (so changed labels are never served from the cache),
spans and versions, and the special handling of ExampleGens by the Kubeflow V2 runner.
"""
from typing import Dict, Optional

from tfx import types
from tfx.components.example_gen import component as example_gen_component
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.proto import range_config_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ExecutionParameter

from components.poster_example_gen import executor
from contract import features
from contract import layout



class IngestSummary(types.Artifact):
  """JSON account of an ingest: every CSV row kept (per split) or excluded (per reason).

  The type name is the class's import path, `<top-level module>.<Class>` (re-exported by
  `components/__init__.py`): the Kubeflow V2 / Vertex AI launcher recovers a custom
  artifact's Python class from that name and rejects any other form at compile time.
  """
  TYPE_NAME = 'components.IngestSummary'


class PosterExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
  PARAMETERS = {
      **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
      executor.IMAGES_DIR_KEY: ExecutionParameter(type=str),
      executor.IMAGE_EXTENSION_KEY: ExecutionParameter(type=str),
      executor.MIN_GENRE_COUNT_KEY: ExecutionParameter(type=int),
      executor.MIN_POSTER_SIDE_KEY: ExecutionParameter(type=int),
      executor.VOCABULARY_FILE_KEY: ExecutionParameter(type=str, optional=True),
  }
  OUTPUTS = {
      **standard_component_specs.FileBasedExampleGenSpec.OUTPUTS,
      executor.INGEST_SUMMARY_KEY: ChannelParameter(type=IngestSummary),
  }


def make_output_config(split_buckets: Dict[str, int]) -> example_gen_pb2.Output:
  """Hash-bucket split config keyed on the image content digest."""
  return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
      splits=[example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
              for name, buckets in split_buckets.items()],
      partition_feature_name=features.IMAGE_SHA256))


class PosterExampleGen(example_gen_component.FileBasedExampleGen):
  """Posters + genre labels (Kaggle layout) -> TFRecord tf.Examples in train/eval/test.

  Outputs:
    examples: Examples with one tf.Example per kept poster, and the genre vocabulary
      (`genre_vocabulary.txt` next to the splits; `genre_vocabulary` custom property).
    ingest_summary: IngestSummary (`ingest_summary.json`).
  """

  SPEC_CLASS = PosterExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self,
               input_base: str,
               split_buckets: Dict[str, int],
               min_genre_count: int,
               min_poster_side: int,
               labels_file: str = layout.LABELS_FILE,
               images_dir: str = layout.IMAGES_DIR,
               image_extension: str = layout.IMAGE_EXTENSION,
               vocabulary_file: Optional[str] = None,
               range_config: Optional[range_config_pb2.RangeConfig] = None):
    """Args:
      input_base: Dataset root in the Kaggle layout (local path or gs:// URI).
      split_buckets: Split name -> relative size, e.g. {'train': 8, 'eval': 1, 'test': 1}.
      min_genre_count: Genres with fewer usable posters are left out of the vocabulary.
      min_poster_side: Posters smaller than this (px) on either side are excluded.
      labels_file: Labels CSV, relative to input_base; may hold TFX's `{SPAN}`, and a run
        then ingests the newest span (or the one `range_config` pins).
      images_dir: Directory of `<Id><image_extension>` posters, relative to input_base;
        a `{SPAN}` in it is the span the driver resolved from `labels_file`.
      image_extension: File name suffix of the posters.
      vocabulary_file: The genres to learn, one per line, whatever the labels' counts (the
        contract of spans); None: the labels' genres with at least `min_genre_count` posters.
      range_config: Optional span range, as for any FileBasedExampleGen.
    """
    spec = PosterExampleGenSpec(
        input_base=input_base,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name='labels', pattern=labels_file)]),
        output_config=make_output_config(split_buckets),
        custom_config=None,
        range_config=range_config,
        output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
        output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        images_dir=images_dir,
        image_extension=image_extension,
        min_genre_count=min_genre_count,
        min_poster_side=min_poster_side,
        vocabulary_file=vocabulary_file,
        examples=types.Channel(type=standard_artifacts.Examples),
        ingest_summary=types.Channel(type=IngestSummary))
    # FileBasedExampleGen.__init__ builds its own spec class; skip to the base component.
    super(example_gen_component.FileBasedExampleGen, self).__init__(spec=spec)
