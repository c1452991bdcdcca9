"""Beam executor of RareGenreOversampler.

The oversampler works on examples as stored (PosterEmbedder's: the encoded JPEG and its
embedding, ~35 KB a poster): repeating those is cheap, where repeating transformed float
posters (~600 KB each) would not be. The Trainer reads each distinct poster's embedding once
(or applies the Transform graph to its bytes, where it cannot trust the entry). Only the
configured split is resampled; the other splits are copied byte for byte.

Passes over the split: genre counts -> desired copies per poster -> histogram of desired
copies -> growth-limited copies table -> repeated records, plus counts before and after.
"""
import json
import os
from typing import Any, Dict, List

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


def _as_genre_dict(vector, vocabulary) -> Dict[str, int]:
  if vector is None:
    return {genre: 0 for genre in vocabulary}
  return {genre: int(n) for genre, n in zip(vocabulary, vector)}


def _image_sha256(record: bytes) -> bytes:
  example = tf.train.Example.FromString(record)
  return example.features.feature[features.IMAGE_SHA256].bytes_list.value[0]


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
      records = (
          [pipeline | f'ReadSplit[{i}]' >> beam.io.ReadFromTFRecord(
              os.path.join(artifact_utils.get_split_uri([source], split), '*'))
           for i, source in enumerate(sources)]
          | 'Window' >> beam.Flatten())
      labelled = records | 'ParseLabels' >> beam.Map(lambda r: (_labels(r), r))
      before = (labelled | 'LabelsBefore' >> beam.Map(lambda lr: lr[0])
                | 'CountBefore' >> beam.CombineGlobally(_SumVectors()))
      reference = before | 'Reference' >> beam.Map(
          lambda counts: policy.reference_count([] if counts is None else list(counts)))
      with_desired = labelled | 'DesiredCopies' >> beam.Map(
          lambda lr, counts, ref: (policy.desired_copies(lr[0], list(counts), ref, max_copies),
                                   lr),
          beam.pvalue.AsSingleton(before), beam.pvalue.AsSingleton(reference))
      copies_table = (
          with_desired
          | 'Desired' >> beam.Map(lambda d_lr: d_lr[0])
          | 'CountDesired' >> beam.combiners.Count.PerElement()
          | 'Histogram' >> beam.combiners.ToDict()
          | 'CopiesTable' >> beam.Map(policy.growth_limited_copies, max_growth))
      repeated = with_desired | 'Repeat' >> beam.FlatMap(
          lambda d_lr, table: [d_lr[1]] * table[d_lr[0]],
          beam.pvalue.AsSingleton(copies_table))
      _ = (repeated
           | 'Records' >> beam.Map(lambda lr: lr[1])
           | 'Shuffle' >> beam.Reshuffle()
           | 'WriteSplit' >> beam.io.WriteToTFRecord(
               os.path.join(target_split, _RECORD_FILE_PREFIX), file_name_suffix='.gz'))
      after = (repeated | 'LabelsAfter' >> beam.Map(lambda lr: lr[0])
               | 'CountAfter' >> beam.CombineGlobally(_SumVectors()))
      posters = records | 'CountPosters' >> beam.combiners.Count.Globally()
      repeated_images = (
          records
          | 'ImageOfRecord' >> beam.Map(_image_sha256)
          | 'CountPerImage' >> beam.combiners.Count.PerElement()
          | 'RepeatedImages' >> beam.Filter(lambda image_count: image_count[1] > 1)
          | 'CountRepeated' >> beam.combiners.Count.Globally())
      written = repeated | 'CountWritten' >> beam.combiners.Count.Globally()
      _ = (pipeline
           | 'SummaryTrigger' >> beam.Create([None])
           | 'WriteSummary' >> beam.Map(
               _write_summary, path=summary_path, split=split, vocabulary=vocabulary,
               max_copies=max_copies, max_growth=max_growth,
               before=beam.pvalue.AsSingleton(before), after=beam.pvalue.AsSingleton(after),
               posters=beam.pvalue.AsSingleton(posters),
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
