"""Beam executor of RareGenreOversampler.

The oversampler works on examples as stored (PosterEmbedder's: the encoded JPEG and its
embedding, ~35 KB a poster): repeating those is cheap, where repeating transformed float
posters (~600 KB each) would not be. The Trainer reads each distinct poster's embedding once
(or applies the Transform graph to its bytes, where it cannot trust the entry). Only the
configured split is resampled; the other splits are copied byte for byte.

Two reads of the split. The plan, from each record's labels and image digest: genre counts ->
desired copies per poster -> histogram of desired copies -> growth-limited copies table, plus
the counts before and after. The copies: each record read again and written as many times as
the table says, in the order read (the Trainer shuffles), so no record waits in memory.
"""
import functools
import json
import os
from typing import Any, Dict, List, Tuple

from absl import logging
import apache_beam as beam
import numpy as np
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components import artifact_files
from components.oversampler import policy
from components.span_window import manifest as window_manifest
from contract import features
from contract import vocabulary as genre_vocabulary

EXAMPLES_KEY = 'examples'
WINDOW_KEY = 'window'
OVERSAMPLED_EXAMPLES_KEY = 'oversampled_examples'
SPLIT_KEY = 'split'
MAX_COPIES_KEY = 'max_copies'
MAX_GROWTH_KEY = 'max_growth'

SUMMARY_FILE = 'oversampling_summary.json'
_RECORD_FILE_PREFIX = 'data_tfrecord'


class _SumVectors(beam.CombineFn):
  """Element-wise sum of equal-length int vectors; None for an empty collection."""

  def create_accumulator(self):
    return None

  def add_input(self, accumulator, vector):
    vector = np.asarray(vector, dtype=np.int64)
    return vector.copy() if accumulator is None else accumulator + vector

  def merge_accumulators(self, accumulators):
    present = [a for a in accumulators if a is not None]
    return np.sum(present, axis=0) if present else None

  def extract_output(self, accumulator):
    return accumulator


def _labels(record: bytes) -> List[int]:
  example = tf.train.Example.FromString(record)
  return list(example.features.feature[features.LABELS].int64_list.value)


def _labels_and_image(record: bytes) -> Tuple[List[int], bytes]:
  """A record's labels and its image's SHA-256, from one parse."""
  feature = tf.train.Example.FromString(record).features.feature
  return (list(feature[features.LABELS].int64_list.value),
          feature[features.IMAGE_SHA256].bytes_list.value[0])


def _desired_copies(labels: List[int], counts, reference: float, max_copies: int) -> int:
  return policy.desired_copies(labels, list(counts), reference, max_copies)


def _as_genre_dict(vector, vocabulary) -> Dict[str, int]:
  if vector is None:
    return {genre: 0 for genre in vocabulary}
  return {genre: int(n) for genre, n in zip(vocabulary, vector)}


def _write_summary(_, *, path, split, vocabulary, max_copies, max_growth, before, after,
                  posters, copies_table, written, repeated_images):
  summary = {
      'split': split,
      # Images the split holds more than once before oversampling: within one span,
      # PosterExampleGen reports them; across the spans of a window, only this does.
      'repeated_images': repeated_images,
      'max_copies': max_copies,
      'max_growth': max_growth,
      'posters_before': posters,
      'examples_after': written,
      'growth': written / posters if posters else 1.0,
      'copies_for_desired_copies': {str(d): c for d, c in sorted(copies_table.items())},
      'genre_positives_before': _as_genre_dict(before, vocabulary),
      'genre_positives_after': _as_genre_dict(after, vocabulary),
  }
  with tf.io.gfile.GFile(path, 'w') as f:
    json.dump(summary, f, indent=2)


class Executor(base_beam_executor.BaseBeamExecutor):
  """Repeats rare-genre posters of one split; copies the other splits unchanged."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    # With spans on, the window's embedded examples, which are oversampled as one.
    if input_dict.get(WINDOW_KEY):
      sources = window_manifest.window_artifacts(
          artifact_utils.get_single_uri(input_dict[WINDOW_KEY]), window_manifest.EMBEDDED_EXAMPLES)
    else:
      sources = input_dict[EXAMPLES_KEY]
    target = artifact_utils.get_single_instance(output_dict[OVERSAMPLED_EXAMPLES_KEY])
    split = exec_properties[SPLIT_KEY]
    max_copies = int(exec_properties[MAX_COPIES_KEY])
    max_growth = float(exec_properties[MAX_GROWTH_KEY])
    policy.validate(max_copies, max_growth)

    split_names = artifact_utils.decode_split_names(sources[0].split_names)
    for source in sources:
      if artifact_utils.decode_split_names(source.split_names) != split_names:
        raise ValueError(f'Examples of one window must have the same splits: {source.uri} '
                         f'has {source.split_names}, {sources[0].uri} {split_names}.')
    if split not in split_names:
      raise ValueError(f'Split {split!r} to oversample is not among {split_names}.')
    target.split_names = sources[0].split_names
    examples_utils.set_payload_format(target, examples_utils.get_payload_format(sources[0]))
    examples_utils.set_file_format(target, examples_utils.get_file_format(sources[0]))
    # A derived Examples artifact carries the vocabulary of the examples it derives from.
    vocabulary = genre_vocabulary.read_window_vocabulary([source.uri for source in sources])
    genre_vocabulary.write_vocabulary(target.uri, vocabulary)

    for name in split_names:
      if name != split:
        for i, source in enumerate(sources):
          artifact_files.copy_split(artifact_utils.get_split_uri([source], name),
                           artifact_utils.get_split_uri([target], name),
                           prefix=f'{i}-' if len(sources) > 1 else '')

    target_split = artifact_utils.get_split_uri([target], split)
    summary_path = os.path.join(target.uri, SUMMARY_FILE)
    with self._make_beam_pipeline() as pipeline:
      # Holding the 35 KB records between stages put 7 GB in memory at 3x the shared data
      # (BENCHMARKS.md), hence two reads; and one read of all the patterns, as a Flatten of a
      # read per source makes the DirectRunner buffer each read whole.
      patterns = [os.path.join(artifact_utils.get_split_uri([source], split), '*')
                  for source in sources]
      posters = (pipeline
                 | 'PlanPatterns' >> beam.Create(patterns)
                 | 'ReadForPlan' >> beam.io.ReadAllFromTFRecord()
                 | 'Parse' >> beam.Map(_labels_and_image))
      labels = posters | 'Labels' >> beam.Map(lambda poster: poster[0])
      before = labels | 'CountBefore' >> beam.CombineGlobally(_SumVectors())
      reference = before | 'Reference' >> beam.Map(
          lambda counts: policy.reference_count([] if counts is None else list(counts)))
      desired = functools.partial(_desired_copies, max_copies=max_copies)
      with_desired = labels | 'DesiredCopies' >> beam.Map(
          lambda poster_labels, counts, ref: (desired(poster_labels, counts, ref), poster_labels),
          beam.pvalue.AsSingleton(before), beam.pvalue.AsSingleton(reference))
      copies_table = (
          with_desired
          | 'Desired' >> beam.Map(lambda d_labels: d_labels[0])
          | 'CountDesired' >> beam.combiners.Count.PerElement()
          | 'Histogram' >> beam.combiners.ToDict()
          | 'CopiesTable' >> beam.Map(policy.growth_limited_copies, max_growth))
      copies = with_desired | 'Copies' >> beam.Map(
          lambda d_labels, table: (table[d_labels[0]], d_labels[1]),
          beam.pvalue.AsSingleton(copies_table))
      after = (copies | 'LabelsAfter' >> beam.Map(lambda n_labels: np.multiply(*n_labels))
               | 'CountAfter' >> beam.CombineGlobally(_SumVectors()))
      written = (copies | 'CopiesOfPoster' >> beam.Map(lambda n_labels: n_labels[0])
                 | 'CountWritten' >> beam.CombineGlobally(sum))
      poster_count = posters | 'CountPosters' >> beam.combiners.Count.Globally()
      repeated_images = (
          posters
          | 'ImageOfRecord' >> beam.Map(lambda poster: poster[1])
          | 'CountPerImage' >> beam.combiners.Count.PerElement()
          | 'RepeatedImages' >> beam.Filter(lambda image_count: image_count[1] > 1)
          | 'CountRepeated' >> beam.combiners.Count.Globally())
      _ = (pipeline
          | 'CopyPatterns' >> beam.Create(patterns)
          | 'ReadForCopies' >> beam.io.ReadAllFromTFRecord()
          | 'Repeat' >> beam.FlatMap(
              lambda record, counts, ref, table: [record] * table[
                  desired(_labels(record), counts, ref)],
              beam.pvalue.AsSingleton(before), beam.pvalue.AsSingleton(reference),
              beam.pvalue.AsSingleton(copies_table))
          | 'WriteSplit' >> artifact_files.write_records(
              target_split, _RECORD_FILE_PREFIX, os.path.join(self._get_tmp_dir(), 'copies')))
      _ = (pipeline
           | 'SummaryTrigger' >> beam.Create([None])
           | 'WriteSummary' >> beam.Map(
               _write_summary, path=summary_path, split=split, vocabulary=vocabulary,
               max_copies=max_copies, max_growth=max_growth,
               before=beam.pvalue.AsSingleton(before), after=beam.pvalue.AsSingleton(after),
               posters=beam.pvalue.AsSingleton(poster_count),
               copies_table=beam.pvalue.AsSingleton(copies_table),
               written=beam.pvalue.AsSingleton(written),
               repeated_images=beam.pvalue.AsSingleton(repeated_images)))

    with tf.io.gfile.GFile(summary_path, 'r') as f:
      summary = json.load(f)
    logging.info('Oversampled %s: %d posters -> %d examples (%.2fx); positives per genre '
                 'before %s, after %s.', split, summary['posters_before'],
                 summary['examples_after'], summary['growth'],
                 summary['genre_positives_before'], summary['genre_positives_after'])
    if summary['repeated_images']:
      logging.warning('%d image(s) occur more than once in the %s split of the %d Examples '
                      'artifact(s) read, and weigh as many times in training: %s.',
                      summary['repeated_images'], split, len(sources), summary_path)
    # Every poster is written at least once: as many different records as posters read.
    artifact_files.check_written(target_split, f'RareGenreOversampler, split {split}',
                                 records=summary['examples_after'],
                                 distinct=summary['posters_before'])
    target.set_float_custom_property('train_growth', summary['growth'])
    target.set_int_custom_property('window_artifacts', len(sources))
