"""Beam executor of PosterExampleGen.

    labels CSV --parse (driver side, small)--> labelled posters + row exclusions
      --count genres of the labelled posters--> vocabulary
      --read + decode each image (Beam, parallel)--> posters with ImageInfo | image exclusions
      --build tf.Example, assign split by image-content hash--> train / eval / test
      --counts of everything--> ingest_summary.json

The CSV is parsed where the pipeline is built: labels are a few hundred KB even for far
larger datasets, and collapsing repeated Ids needs all rows at once. Images, the bulk of
the data, are read by Beam workers through tf.io.gfile, so `gs://` inputs work on Dataflow.
"""
import dataclasses
import os
import re
from typing import Any, Dict, Iterable, Iterator, List, Tuple

from absl import logging
import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import base_example_gen_executor
from tfx.components.example_gen import input_processor
from tfx.components.example_gen import utils as example_gen_utils
from tfx.proto import example_gen_pb2
from tfx.proto import range_config_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import artifact_files
from contract import images
from components.poster_example_gen import labels
from components.poster_example_gen import summary as ingest_summary
from components.poster_example_gen import splits
from contract import vocabulary as genre_vocabulary
from components.poster_example_gen.examples import build_example

# Execution properties of PosterExampleGen beyond FileBasedExampleGen's.
IMAGES_DIR_KEY = 'images_dir'
IMAGE_EXTENSION_KEY = 'image_extension'
MIN_GENRE_COUNT_KEY = 'min_genre_count'
MIN_POSTER_SIDE_KEY = 'min_poster_side'
VOCABULARY_FILE_KEY = 'vocabulary_file'
INGEST_SUMMARY_KEY = 'ingest_summary'

# Injected by Do() for GenerateExamplesByBeam, like the base class's `_beam_pipeline_args`.
_SUMMARY_DIR_KEY = '_ingest_summary_dir'

# Exclusion reason for posters none of whose genres made it into the vocabulary.
NO_GENRE_IN_VOCABULARY = 'no_genre_in_vocabulary'

_EXCLUDED = 'excluded'


@dataclasses.dataclass(frozen=True)
class _LoadedPoster:
  labelled: labels.LabelledPoster
  image: bytes
  info: images.ImageInfo


@dataclasses.dataclass(frozen=True)
class _KeptPoster:
  split: str
  poster_id: str
  genres: Tuple[str, ...]
  sha256: str
  example: tf.train.Example


class _LoadPoster(beam.DoFn):
  """Reads and checks one poster's image; unusable images go to the `excluded` output."""

  def __init__(self, images_dir: str, extension: str, min_side: int):
    super().__init__()
    self._images_dir = images_dir
    self._extension = extension
    self._min_side = min_side
    self._kept = beam.metrics.Metrics.counter('PosterExampleGen', 'images_ok')
    self._rejected = beam.metrics.Metrics.counter('PosterExampleGen', 'images_rejected')

  def process(self, poster: labels.LabelledPoster) -> Iterator[Any]:
    path = os.path.join(self._images_dir, poster.poster_id + self._extension)
    try:
      if not tf.io.gfile.exists(path):
        raise images.PosterImageError(images.MISSING_IMAGE, f'{path} does not exist')
      with tf.io.gfile.GFile(path, 'rb') as f:
        data = f.read()
      info = images.inspect_image(data, self._min_side)
    except images.PosterImageError as error:
      logging.warning('Excluding poster %s (%s): %s', poster.poster_id, path, error)
      self._rejected.inc()
      yield beam.pvalue.TaggedOutput(
          _EXCLUDED, labels.RowExclusion(poster.poster_id, error.reason, error.detail))
      return
    self._kept.inc()
    yield _LoadedPoster(poster, data, info)


class _ToExample(beam.DoFn):
  """Restricts labels to the vocabulary, assigns the split and builds the tf.Example."""

  def __init__(self, split_buckets: List[Tuple[str, int]], vocabulary: Tuple[str, ...]):
    super().__init__()
    self._split_buckets = split_buckets
    self._vocabulary = vocabulary

  def process(self, poster: _LoadedPoster) -> Iterator[Any]:
    genres = tuple(g for g in poster.labelled.genres if g in self._vocabulary)
    if not genres:
      yield beam.pvalue.TaggedOutput(_EXCLUDED, labels.RowExclusion(
          poster.labelled.poster_id, NO_GENRE_IN_VOCABULARY,
          f'none of genres {list(poster.labelled.genres)} is in the vocabulary'))
      return
    split = splits.assign_split(poster.info.sha256, self._split_buckets)
    example = build_example(poster.labelled.poster_id, poster.image, poster.info, genres,
                            self._vocabulary)
    yield _KeptPoster(split, poster.labelled.poster_id, genres, poster.info.sha256, example)


def _duplicate_groups(sha_and_ids: Tuple[str, Iterable[str]]) -> Iterator[List[str]]:
  _, poster_ids = sha_and_ids
  poster_ids = sorted(poster_ids)
  if len(poster_ids) > 1:
    yield poster_ids


def unlabelled_image_ids(images_dir: str, extension: str, table: labels.LabelTable) -> List[str]:
  """Ids of image files that no CSV row names: not ingested, but counted and listed."""
  named = {p.poster_id for p in table.posters} | {e.poster_id for e in table.exclusions}
  found = (os.path.basename(path)[:-len(extension)]
           for path in tf.io.gfile.glob(os.path.join(images_dir, '*' + extension)))
  return sorted(poster_id for poster_id in found if poster_id not in named)


def _write_summary(_, *, summary_dir, labels_path, table, exclusions, vocabulary, kept_per_split,
                  positives, duplicate_groups, split_order, unlabelled_images):
  positives_per_split: Dict[str, Dict[str, int]] = {}
  for (split, genre), count in positives:
    positives_per_split.setdefault(split, {})[genre] = count
  summary = ingest_summary.build_summary(
      labels_path=labels_path, table=table, exclusions=exclusions, vocabulary=vocabulary,
      kept_per_split=kept_per_split, positives_per_split=positives_per_split,
      duplicate_image_groups=duplicate_groups, split_order=split_order,
      unlabelled_images=unlabelled_images)
  ingest_summary.write_summary(summary_dir, summary)


def resolve_span(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """`exec_properties` with the span and version of a `{SPAN}` labels pattern resolved.

  TFX's ExampleGen driver does this before the executor runs, locally and on Vertex AI (the
  task's preCacheCheck hook). Kubeflow Pipelines' backend never runs that hook, so there the
  pattern still holds `{SPAN}`: it is resolved here the way the driver resolves it (the
  newest span, or the one a RangeConfig pins), so that every orchestrator ingests the same
  span.
  """
  input_config = example_gen_pb2.Input()
  proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                            input_config)
  if not any(re.search(example_gen_utils.SPAN_FULL_REGEX, split.pattern)
             for split in input_config.splits):
    return exec_properties
  range_config = None
  if exec_properties.get(standard_component_specs.RANGE_CONFIG_KEY):
    range_config = range_config_pb2.RangeConfig()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.RANGE_CONFIG_KEY],
                              range_config)
  processor = input_processor.FileBasedInputProcessor(
      exec_properties[standard_component_specs.INPUT_BASE_KEY], input_config.splits,
      range_config)
  span, version = processor.resolve_span_and_version()
  for split in input_config.splits:
    split.pattern = processor.get_pattern_for_span_version(split.pattern, span, version)
  logging.info('PosterExampleGen: span %d resolved without the driver.', span)
  return {**exec_properties,
          standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(input_config),
          example_gen_utils.SPAN_PROPERTY_NAME: span,
          example_gen_utils.VERSION_PROPERTY_NAME: version}


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
  """Ingests posters + labels; splits by image content; writes the ingest summary."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    raise NotImplementedError(
        'PosterExampleGen overrides GenerateExamplesByBeam: splitting by image content and '
        'the ingest summary need more than one PCollection of examples.')

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.PCollection]:
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                              input_config)
    output_config = example_gen_pb2.Output()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
                              output_config)
    if len(input_config.splits) != 1:
      raise ValueError('PosterExampleGen reads one labels file: input_config needs exactly '
                       f'one split, got {len(input_config.splits)}.')
    split_buckets = splits.split_buckets_from_output_config(output_config)
    split_order = [name for name, _ in split_buckets]

    input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    # The driver has put the span it resolved into the labels pattern; the images follow it.
    labels_path = os.path.join(input_base, input_config.splits[0].pattern)
    images_dir = exec_properties[IMAGES_DIR_KEY]
    if re.search(example_gen_utils.SPAN_FULL_REGEX, images_dir):
      images_dir = example_gen_utils.get_pattern_for_span_version(
          images_dir, is_match_span=True, is_match_date=False, is_match_version=False,
          span=int(exec_properties[example_gen_utils.SPAN_PROPERTY_NAME]), version=None)
    images_dir = os.path.join(input_base, images_dir)
    table = labels.read_label_table(labels_path)
    vocabulary_file = exec_properties.get(VOCABULARY_FILE_KEY)
    if vocabulary_file:
      vocabulary = labels.contract_vocabulary(
          table.posters, table.genres, genre_vocabulary.read_vocabulary_file(vocabulary_file),
          exec_properties[MIN_GENRE_COUNT_KEY])
    else:
      vocabulary = labels.vocabulary_from_labels(
          table.posters, table.genres, exec_properties[MIN_GENRE_COUNT_KEY])
    logging.info('Parsed %s: %d rows, %d labelled posters, vocabulary %s.',
                 labels_path, table.csv_rows, len(table.posters), vocabulary.genres)
    image_extension = exec_properties[IMAGE_EXTENSION_KEY]
    unlabelled = unlabelled_image_ids(images_dir, image_extension, table)
    if unlabelled:
      logging.warning('%d image file(s) in %s have no row in %s and are not ingested '
                      '(e.g. %s).', len(unlabelled), images_dir, labels_path,
                      ', '.join(unlabelled[:5]))

    loaded = (
        pipeline
        | 'LabelledPosters' >> beam.Create(table.posters)
        | 'SpreadPosters' >> beam.Reshuffle()
        | 'LoadImages' >> beam.ParDo(
            _LoadPoster(images_dir, image_extension,
                        exec_properties[MIN_POSTER_SIDE_KEY])).with_outputs(
                _EXCLUDED, main='posters'))
    built = (
        loaded.posters
        | 'BuildExamples' >> beam.ParDo(
            _ToExample(split_buckets, vocabulary.genres)).with_outputs(
                _EXCLUDED, main='kept'))

    split_index = {name: i for i, name in enumerate(split_order)}
    partitions = built.kept | 'SplitByImageContent' >> beam.Partition(
        lambda poster, _: split_index[poster.split], len(split_order))
    example_splits = {
        name: partitions[i] | f'Examples[{name}]' >> beam.Map(lambda poster: poster.example)
        for name, i in split_index.items()
    }

    exclusions = (
        (pipeline | 'RowExclusions' >> beam.Create(table.exclusions),
         loaded[_EXCLUDED], built[_EXCLUDED])
        | 'AllExclusions' >> beam.Flatten())
    kept_per_split = (
        built.kept
        | 'SplitOfPoster' >> beam.Map(lambda poster: poster.split)
        | 'CountPerSplit' >> beam.combiners.Count.PerElement()
        | 'KeptPerSplit' >> beam.combiners.ToDict())
    positives = (
        built.kept
        | 'SplitGenrePairs' >> beam.FlatMap(
            lambda poster: [(poster.split, g) for g in poster.genres])
        | 'CountPositives' >> beam.combiners.Count.PerElement())
    duplicate_groups = (
        built.kept
        | 'ByImageContent' >> beam.Map(lambda poster: (poster.sha256, poster.poster_id))
        | 'GroupByImageContent' >> beam.GroupByKey()
        | 'DuplicateImages' >> beam.FlatMap(_duplicate_groups))
    _ = (
        pipeline
        | 'SummaryTrigger' >> beam.Create([None])
        | 'WriteIngestSummary' >> beam.Map(
            _write_summary,
            summary_dir=exec_properties[_SUMMARY_DIR_KEY],
            labels_path=labels_path,
            table=table,
            exclusions=beam.pvalue.AsList(exclusions),
            vocabulary=vocabulary,
            kept_per_split=beam.pvalue.AsSingleton(kept_per_split),
            positives=beam.pvalue.AsList(positives),
            duplicate_groups=beam.pvalue.AsList(duplicate_groups),
            split_order=split_order,
            unlabelled_images=unlabelled))
    return example_splits

  def Do(self, input_dict, output_dict, exec_properties) -> None:
    exec_properties = resolve_span(exec_properties)
    summary_artifact = artifact_utils.get_single_instance(output_dict[INGEST_SUMMARY_KEY])
    super().Do(input_dict, output_dict,
               {**exec_properties, _SUMMARY_DIR_KEY: summary_artifact.uri})

    summary = ingest_summary.read_summary(summary_artifact.uri)
    for line in ingest_summary.summary_lines(summary):
      logging.info('%s', line)
    examples_artifact = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.EXAMPLES_KEY])
    # TFX's ExampleGen driver records span and version as custom properties only, while
    # SpanWindow reads the Examples type's `span` and `version` properties (on every
    # orchestrator, whether the driver ran or `resolve_span` did).
    # Kubeflow V2 hands numbers over as floats (a protobuf Value's number_value).
    examples_artifact.span = int(exec_properties.get(example_gen_utils.SPAN_PROPERTY_NAME, 0))
    examples_artifact.version = int(exec_properties.get(
        example_gen_utils.VERSION_PROPERTY_NAME) or 0)
    for split, kept in summary['kept_per_split'].items():
      artifact_files.check_written(artifact_utils.get_split_uri([examples_artifact], split),
                                   f'PosterExampleGen, split {split}', records=kept,
                                   distinct=kept)
    genre_vocabulary.write_vocabulary(examples_artifact.uri, summary['vocabulary'])
    summary_artifact.set_int_custom_property('kept_total', summary['kept_total'])
    summary_artifact.set_int_custom_property('excluded_total', summary['excluded_total'])
    summary_artifact.set_int_custom_property('vocabulary_size', len(summary['vocabulary']))
