"""The slice report of the shared e2e run: opens offline in a real browser, and shows exactly
the numbers the Evaluator wrote."""
import html.parser
import math
import os
import subprocess
import sys

import pytest
import tensorflow_model_analysis as tfma

from contract import vocabulary
from pipeline import run_summary
from components.slice_report import build
from tests import headless_chromium

pytestmark = pytest.mark.e2e

# A report embeds thumbnails; it must stay small enough to mail or open anywhere.
MAX_REPORT_BYTES = 5 * 1024 * 1024


class _Tables(html.parser.HTMLParser):
  """{table id: [(row attributes, [cell data-value or text, ...]), ...]}."""

  def __init__(self):
    super().__init__()
    self.tables, self._table, self._row, self._cell = {}, None, None, None

  def handle_starttag(self, tag, attrs):
    attrs = dict(attrs)
    if tag == 'table':
      self._table = self.tables.setdefault(attrs.get('id'), [])
    elif tag == 'tr' and self._table is not None:
      self._row = (attrs, [])
    elif tag in ('td', 'th') and self._row is not None:
      self._cell = attrs.get('data-value', '')
      self._row[1].append(self._cell)

  def handle_endtag(self, tag):
    if tag == 'tr' and self._row is not None:
      if self._row[0] or self._row[1]:
        self._table.append(self._row)
      self._row = None
    elif tag == 'table':
      self._table = None


def _report(runs):
  return os.path.join(runs['SliceReport'].output_uris['report'][0], build.REPORT_FILE)


def _tables(path):
  parser = _Tables()
  with open(path, encoding='utf-8') as f:
    parser.feed(f.read())
  return parser.tables


def _same(shown: str, expected: float) -> bool:
  value = float(shown)
  return (math.isnan(value) and math.isnan(expected)) or value == expected


def _evaluator_metrics(evaluation_uri):
  """{slice name: {(metric, output, class id or None): value}} of the candidate, read
  straight from TFMA's output."""
  result = {}
  for metrics in tfma.load_metrics(evaluation_uri):
    name = ' × '.join(
        f'{k.column} = {getattr(k, k.WhichOneof("kind")).decode() if k.HasField("bytes_value") else getattr(k, k.WhichOneof("kind"))}'
        for k in metrics.slice_key.single_slice_keys) or 'Overall'
    values = result.setdefault(name, {})
    for entry in metrics.metric_keys_and_values:
      key = entry.key
      if key.is_diff or key.model_name not in ('', 'candidate'):
        continue
      class_id = key.sub_key.class_id.value if key.sub_key.HasField('class_id') else None
      values[(key.name, key.output_name, class_id)] = entry.value.double_value.value
  return result


def test_the_pipeline_writes_a_report_that_opens_offline_without_errors(e2e_pipeline_run):
  if not headless_chromium.available():
    message = 'chromium is not installed (.ci/run installs it)'
    if os.environ.get('CI'):
      pytest.fail(message)
    pytest.skip(message)
  _, _, runs = e2e_pipeline_run
  assert runs['SliceReport'].state == 'COMPLETE'
  path = _report(runs)
  assert os.path.getsize(path) < MAX_REPORT_BYTES
  genres = vocabulary.read_vocabulary(runs['PosterExampleGen'].output_uris['examples'][0])

  with headless_chromium.visit('file://' + path) as page:
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.log_errors == []
    assert [url for url in page.request_urls if not url.startswith(('file:', 'data:'))] == []
    assert page.evaluate(
        "Array.from(document.querySelectorAll('#genre-table tbody tr'))"
        '.map(row => row.dataset.genre)') == list(genres)
    assert page.evaluate("document.querySelectorAll('#pr-curves svg path.curve').length") \
        == len(genres)
    assert page.evaluate("document.querySelectorAll('#calibration svg circle.bucket').length") > 0
    assert page.evaluate("document.querySelectorAll('#slice-table tbody tr').length") > len(genres)
    assert page.evaluate("document.querySelector('#gate').dataset.blessed") in ('true', 'false')
    images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth)")
    assert images and all(width > 0 for width in images)
    # Sorting by support (descending after two clicks) is what a reviewer does first.
    supports = page.evaluate(
        "(() => { const h = document.querySelector('#genre-table th:nth-child(2)');"
        " h.click(); h.click();"
        " return Array.from(document.querySelectorAll('#genre-table tbody tr'))"
        ".map(r => parseFloat(r.cells[1].dataset.value)); })()")
    assert supports == sorted(supports, reverse=True)
    assert page.console_errors == [] and page.exceptions == []


def test_report_numbers_are_the_evaluators(e2e_pipeline_run):
  _, _, runs = e2e_pipeline_run
  examples_uri = runs['PosterExampleGen'].output_uris['examples'][0]
  genres = vocabulary.read_vocabulary(examples_uri)
  evaluator = _evaluator_metrics(runs['TestEvaluator'].output_uris['evaluation'][0])
  tables = _tables(_report(runs))
  overall = evaluator['Overall']

  rows = tables['genre-table'][1:]  # Row 0: the header.
  assert [attrs['data-genre'] for attrs, _ in rows] == list(genres)
  columns = {'precision': ('precision', 'predicted', 2), 'recall': ('recall', 'predicted', 3),
             'f1': ('f1_score', 'predicted', 4), 'ap': ('auc_precision_recall', 'scores', 6),
             'calibration': ('calibration', 'scores', 7)}
  for class_id, (attrs, cells) in enumerate(rows):
    genre_slice = evaluator.get(f'genres = {attrs["data-genre"]}', {})
    assert float(cells[1]) == genre_slice.get(('example_count', 'scores', None), 0.0)
    for metric, output, column in columns.values():
      assert _same(cells[column], overall[(metric, output, class_id)]), (attrs, metric)

  for attrs, cells in tables['headline'][1:]:
    metric = attrs['data-metric']
    output = 'predicted' if metric in ('precision', 'recall', 'f1_score') else 'scores'
    macro = overall[(metric, output, None)]
    if math.isnan(macro):
      # TFMA's macro average is undefined when one genre's value is: the report shows the
      # mean over the genres whose value TFMA defines, and says which it leaves out.
      defined = [overall[(metric, output, class_id)] for class_id in range(len(genres))
                 if not math.isnan(overall[(metric, output, class_id)])]
      macro = sum(defined) / len(defined)
    assert math.isclose(float(cells[1]), macro, rel_tol=1e-9), metric

  slice_rows = tables['slice-table'][1:]
  assert {attrs['data-slice'] for attrs, _ in slice_rows} == set(evaluator)
  for attrs, cells in slice_rows:
    values = evaluator[attrs['data-slice']]
    assert float(cells[1]) == values[('example_count', 'scores', None)]
    assert _same(cells[2], values[('precision', 'predicted', None)])
    assert _same(cells[3], values[('f1_score', 'predicted', None)])
    assert _same(cells[4], values[('auc_precision_recall', 'scores', None)])


def test_cli_renders_the_same_report_from_the_pipeline_root(e2e_pipeline_run, tmp_path):
  config, connection, _ = e2e_pipeline_run
  # The newest run's report: other tests may have rerun the shared pipeline by now.
  runs = {run.node_id: run for run in run_summary.latest_run(connection)}
  output = subprocess.run(
      [sys.executable, '-m', 'reports', config.pipeline_root, '--output', str(tmp_path),
       '--metadata-path', config.metadata_path],
      check=True, capture_output=True, text=True,
      cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
  path = output.strip().splitlines()[-1]
  assert path == str(tmp_path / build.REPORT_FILE)
  with open(path, encoding='utf-8') as cli, open(_report(runs), encoding='utf-8') as pipeline:
    assert cli.read() == pipeline.read()
