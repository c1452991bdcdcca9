"""The committed schema and the DataGate's findings, on statistics of examples built by ingest.

Examples come from PosterExampleGen's own builder (components/poster_example_gen/examples.py)
over synthetic posters, and statistics from TFDV, so the schema is checked against exactly
what the pipeline validates.
"""
import tensorflow as tf
import tensorflow_data_validation as tfdv

from components.data_gate import findings
from contract import images
from components.poster_example_gen.examples import build_example
from pipeline import configs
from pipeline import schema_candidate
from tests import synthetic

VOCABULARY = ('Action', 'Comedy', 'Drama', 'Horror')


def _statistics(tmp_path, posters, genres=(('Drama',), ('Comedy', 'Drama'), ('Action',))):
  """TFDV statistics of one example per poster spec (kwargs of synthetic.poster_bytes)."""
  path = str(tmp_path / f'examples-{len(list(tmp_path.iterdir()))}.tfrecord')
  with tf.io.TFRecordWriter(path) as writer:
    for i, poster in enumerate(posters):
      data = synthetic.poster_bytes(seed=i, **poster)
      example = build_example(f'tt{i:07d}', data, images.inspect_image(data),
                              genres[i % len(genres)], VOCABULARY)
      writer.write(example.SerializeToString())
  return tfdv.generate_statistics_from_tfrecord(path, pipeline_options=None)


def _schema():
  return tfdv.load_schema_text(configs.PipelineConfig().schema_file)


def _kinds(statistics, previous=None):
  anomalies = tfdv.validate_statistics(statistics, _schema(), previous_statistics=previous)
  return {(f.feature, f.kind) for f in findings.findings_of('train', anomalies)}


POSTER = dict(width=182, height=268)


def test_real_looking_posters_keep_the_contract(tmp_path):
  # A few grayscale posters among RGB ones are fine (at least 90 % RGB).
  posters = [POSTER] * 19 + [dict(POSTER, mode='L')]
  assert _kinds(_statistics(tmp_path, posters)) == set()


def test_a_grayscale_drop_breaks_the_colour_mode_contract(tmp_path):
  assert _kinds(_statistics(tmp_path, [dict(POSTER, mode='L')] * 10)) == {
      ('colour_mode', 'ENUM_TYPE_UNEXPECTED_STRING_VALUES')}


def test_banners_break_the_aspect_ratio_range(tmp_path):
  assert _kinds(_statistics(tmp_path, [dict(width=600, height=100)] * 5)) == {
      ('aspect_ratio', 'FLOAT_TYPE_BIG_FLOAT')}


def test_four_genres_on_a_poster_break_the_genre_count(tmp_path):
  kinds = _kinds(_statistics(tmp_path, [POSTER] * 3,
                             genres=[('Action', 'Comedy', 'Drama', 'Horror')]))
  assert ('n_genres', 'INT_TYPE_BIG_INT') in kinds
  assert ('genres', 'FEATURE_TYPE_HIGH_NUMBER_VALUES') in kinds


def test_a_shifted_genre_mix_is_drift_and_only_drift(tmp_path):
  before = _statistics(tmp_path, [POSTER] * 30, genres=[('Drama',), ('Comedy',)])
  after = _statistics(tmp_path, [POSTER] * 30, genres=[('Horror',), ('Action',)])
  anomalies = tfdv.validate_statistics(after, _schema(), previous_statistics=before)
  drift = findings.drift_only(anomalies)
  found = findings.findings_of('train', drift)
  assert [(f.feature, f.kind, f.is_drift) for f in found] == [
      ('genres', 'COMPARATOR_L_INFTY_HIGH', True)]
  assert findings.drift_distances(anomalies)['genres']['l_infty'] == 0.5
  # The same data again: measured, and no drift.
  same = tfdv.validate_statistics(before, _schema(), previous_statistics=before)
  assert findings.findings_of('train', findings.drift_only(same)) == []
  assert findings.drift_distances(same)['genres']['l_infty'] == 0.0


def test_verdict_names_each_finding_and_the_way_out():
  found = [findings.Finding('train', 'colour_mode', 'ENUM_TYPE_UNEXPECTED_STRING_VALUES',
                            'Unexpected string values: L (~100%)'),
           findings.Finding('eval', 'genres', 'COMPARATOR_L_INFTY_HIGH', 'High Linfty')]
  lines = findings.verdict_lines(found, allowed=False)
  assert lines[0].startswith('Data gate: 2 anomalies (1 against the schema, 1 drift)')
  assert '--allow-anomalies' in lines[0] and 'stops before Transform' in lines[0]
  assert lines[1:] == [
      '  train/colour_mode: ENUM_TYPE_UNEXPECTED_STRING_VALUES - Unexpected string values: L '
      '(~100%)', '  eval/genres: COMPARATOR_L_INFTY_HIGH - High Linfty']
  assert 'opt-out' in findings.verdict_lines(found, allowed=True)[0]
  assert findings.as_json(found, {}, allowed=True)['passed']
  assert not findings.as_json(found, {}, allowed=False)['passed']
  assert findings.as_json([], {}, allowed=False)['passed']


def test_schema_review_lists_what_the_inferred_schema_sees_differently():
  committed = _schema()
  inferred = tfdv.load_schema_text(configs.PipelineConfig().schema_file)
  tfdv.get_domain(inferred, 'colour_mode').value.append('CMYK')
  inferred.feature.add(name='director', type=1)
  inferred.feature.remove(tfdv.get_feature(inferred, 'mean_brightness'))
  assert schema_candidate.domain_differences(committed, inferred) == [
      'director: not in the committed schema',
      'mean_brightness: committed, absent from the data',
      "colour_mode: values outside the committed domain: ['CMYK']"]
  assert schema_candidate.domain_differences(committed, committed) == []


def test_a_recorded_verdict_reads_back_as_the_lines_the_runner_prints():
  found = [findings.Finding('train', 'genres', 'COMPARATOR_L_INFTY_HIGH', 'High Linfty')]
  distances = {'train': {'genres': {'l_infty': 0.21}}}
  lines = findings.summary_lines(findings.as_json(found, distances, allowed=True))
  assert lines == findings.verdict_lines(found, allowed=True) + [
      'Drift vs the last accepted run, train: genres L-inf 0.210']
