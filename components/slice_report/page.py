"""Renders a slice report as one self-contained HTML page.

Inline CSS, inline SVG, a few lines of inline JavaScript (table sorting) and thumbnails as
data: URIs: the file opens from disk, from a bucket or as a mail attachment, with no network
and no notebook. Every numeric cell carries TFMA's full-precision value in `data-value`
(what sorting uses and what the tests compare with the Evaluator's output).
"""
import html
import math
from typing import Iterable, List, Optional, Sequence

from components.slice_report import evaluation
from components.slice_report import svg

# Slices with fewer posters are listed after the others: their metrics are mostly noise.
MIN_SLICE_POSTERS = 20
# The metric that orders the slice table, worst first.
SLICE_ORDER_METRIC = 'f1_score'

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d232b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
.meta{color:#5a6572;font-size:12.5px}.meta code{font-size:12px}
.gate{padding:10px 14px;border-radius:6px;margin:14px 0;font-weight:600}
.gate.blessed{background:#e4f5e8;border:1px solid #7cc48c}.gate.not-blessed{background:#fde8e8;border:1px solid #e08585}
.gate.unknown{background:#f1f3f5;border:1px solid #c5ccd4}.gate ul{margin:6px 0 0;font-weight:400}
.gate table{font-weight:400;margin-top:6px}.gate tr.refused td{color:#b00020;font-weight:600}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 9px;text-align:right;border-bottom:1px solid #eceff3;white-space:nowrap}
th{background:#f5f7f9;position:sticky;top:0}th:first-child,td:first-child{text-align:left}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#e8edf2}
.up{color:#1b7f3b;font-size:11px;margin-left:4px}.down{color:#b42323;font-size:11px;margin-left:4px}.same{color:#8a939e;font-size:11px;margin-left:4px}
tr.few td{color:#98a1ab}.worse{background:#fff5f5}
.grid{display:flex;flex-wrap:wrap;gap:6px}
.chart{background:#fff;border:1px solid #eceff3;border-radius:4px}
.chart .plot-area{fill:#fbfcfd;stroke:#c9d0d8}.chart .curve{fill:none;stroke:#2f6fb5;stroke-width:1.6}
.chart .chance{fill:none;stroke:#a0a8b2;stroke-dasharray:4 3}.chart .operating-point{fill:#d9480f;stroke:#fff}
.chart .bucket{fill:#2f6fb5;fill-opacity:.55;stroke:#1f4f85}.chart .tick{font-size:9px;fill:#6b7480}
.chart .axis-label{font-size:10px;fill:#4a5360}.chart .chart-title{font-size:12px;font-weight:600;fill:#1d232b}
.mistakes{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:8px}
figure{margin:0;width:104px;font-size:11px;color:#4a5360}figure img{display:block;height:120px;max-width:104px;object-fit:contain;background:#f1f3f5}
.note{color:#5a6572;font-size:12.5px;max-width:900px}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (header, column) {
    header.addEventListener('click', function () {
      var body = table.tBodies[0];
      var ascending = header.getAttribute('data-order') !== 'asc';
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
      header.setAttribute('data-order', ascending ? 'asc' : 'desc');
      var key = function (row) {
        var cell = row.cells[column];
        var value = cell.getAttribute('data-value');
        return value === null ? cell.textContent : parseFloat(value);
      };
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === 'number' && isNaN(x)) return 1;
        if (typeof y === 'number' && isNaN(y)) return -1;
        var order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _esc(text) -> str:
  return html.escape(str(text))


def _fmt(value: Optional[float], digits: int = 3) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return '–'
  if float(value).is_integer() and abs(value) >= 1 and digits == 0:
    return f'{int(value)}'
  return f'{value:.{digits}f}'


def _data_value(value: Optional[float]) -> str:
  return 'NaN' if value is None or math.isnan(value) else repr(float(value))


def _change(value: evaluation.Value, digits: int) -> str:
  if value.change is None or math.isnan(value.change):
    return ''
  css = 'up' if value.change > 0 else 'down' if value.change < 0 else 'same'
  return f'<span class="{css}">{value.change:+.{digits}f}</span>'


def _metric_cell(value: Optional[evaluation.Value], digits: int = 3) -> str:
  """Candidate value; with a served model, the change beside it and its value in the tooltip."""
  if value is None:
    return '<td data-value="NaN">–</td>'
  title = (f' title="served {_fmt(value.baseline, digits)}"'
           if value.baseline is not None else '')
  return (f'<td data-value="{_data_value(value.candidate)}"{title}>'
          f'{_fmt(value.candidate, digits)}{_change(value, digits)}</td>')


def _number_cell(number: float, digits: int = 3) -> str:
  return f'<td data-value="{_data_value(number)}">{_fmt(number, digits)}</td>'


def _table(css_class: str, headers: Sequence[str], rows: Iterable[str], table_id: str) -> str:
  head = ''.join(f'<th>{_esc(h)}</th>' for h in headers)
  return (f'<table class="{css_class}" id="{table_id}"><thead><tr>{head}</tr></thead>'
          f'<tbody>{"".join(rows)}</tbody></table>')


def _header(data) -> str:
  result = data.evaluation
  baseline = (f'<br>Served model (compared with): <code>{_esc(result.baseline_location)}</code>'
              if result.has_baseline else '<br>Served model: none yet (nothing to compare with)')
  return (f'<h1>Slice report: poster genres on <code>{_esc(data.split)}</code></h1>'
          f'<div class="meta">Model: <code>{_esc(result.model_location)}</code>{baseline}'
          f'<br>Data: <code>{_esc(", ".join(data.examples_uris))}</code>, '
          f'split <b>{_esc(data.split)}</b>, '
          f'{data.posters} posters, {len(data.genres)} genres'
          f'<br>Evaluation: <code>{_esc(result.uri)}</code></div>')


def _gate_table(gate) -> str:
  """Every check of the gate: per judged genre and for the macro average."""
  def cell(value, sign=''):
    return f'<td>{_fmt(value, 4) if not sign or value is None else f"{value:+.4f}"}</td>'

  rows = []
  for check in gate.checks:
    verdict = ('refused: ' + ' and '.join(
        'below its floor' if c == evaluation.FLOOR else 'dropped beyond the tolerance'
        for c in check.refused_by)) if check.refused_by else 'ok'
    rows.append(
        f'<tr data-gate-subject="{_esc(check.subject)}"'
        f'{" class=refused" if check.refused_by else ""}><td>{_esc(check.subject)}</td>'
        f'{cell(check.candidate)}{cell(check.baseline)}{cell(check.change, "+")}'
        f'{cell(check.floor)}{cell(check.allowed_drop)}<td>{verdict}</td></tr>')
  judged = sum(check.subject != evaluation.MACRO_SUBJECT for check in gate.checks)
  unjudged = ''.join(
      f'<tr data-gate-unjudged="{_esc(u.genre)}"><td>{_esc(u.genre)}</td>'
      f'<td>{u.eval_positives}</td><td>{_fmt(u.served_pr_auc, 4)}</td><td>{_esc(u.reason)}</td>'
      f'</tr>' for u in gate.unjudged)
  unjudged = (f'<p class="meta">Not judged: a lost genre could not be told from a retrained '
              f'one there.</p><table id="gate-unjudged"><tr><th>genre</th>'
              f'<th>eval positives</th><th>served AUC-PR</th><th>why not judged</th></tr>'
              f'{unjudged}</table>') if unjudged else ''
  served_only = (f'<p class="meta">Not compared (the candidate does not know them): '
                 f'{_esc(", ".join(gate.served_only))}</p>') if gate.served_only else ''
  subjects = (f'the macro average and each of the {judged} judged genres' if judged else
              'the macro average (no genre is judged without a served model to weigh it by)')
  return (f'<p class="meta">AUC-PR on <code>eval</code>: {subjects} must reach its floor (a '
          f'genre\'s: its chance level, the AUC-PR random scores stay below with the gate\'s '
          f'confidence) and may not fall below the served model\'s by more than its '
          f'tolerance.</p><table id="gate-table">'
          f'<tr><th>judged</th><th>candidate</th><th>served</th><th>change</th><th>floor</th>'
          f'<th>may drop</th><th>verdict</th></tr>{"".join(rows)}</table>{unjudged}'
          f'{served_only}')


def _gate(data) -> str:
  gate = data.gate
  if gate is None:
    return ('<div class="gate unknown">Gate: unknown (no gating evaluation given)</div>')
  source = f'<div class="meta">Gating evaluation: <code>{_esc(data.gate_uri)}</code></div>'
  if gate.blessed:
    first = (' First model, nothing served yet: only the floors apply.'
             if gate.first_model else '')
    return (f'<div class="gate blessed" id="gate" data-blessed="true">Gate: BLESSED '
            f'(eligible to be pushed).{first}{_gate_table(gate)}{source}</div>')
  refusals = ''.join(f'<li><b>{_esc(c.subject)}</b> {_esc(c.metric)} = {_fmt(c.candidate, 4)}'
                     f'</li>' for c in gate.refusals)
  return (f'<div class="gate not-blessed" id="gate" data-blessed="false">Gate: NOT BLESSED '
          f'(not pushed), refused by<ul>{refusals}</ul>{_gate_table(gate)}{source}</div>')


def _headline(data) -> str:
  overall = data.evaluation.overall
  has_baseline = data.evaluation.has_baseline
  headers = ['metric (macro over genres)', 'candidate']
  if has_baseline:
    headers += ['served', 'change']
  rows, notes = [], []
  for name in evaluation.GENRE_METRICS:
    value, left_out = overall.defined_macro(name)
    if value is None:
      continue
    label = evaluation.METRIC_LABELS[name]
    if left_out:
      label += f' ({len(overall.per_genre) - len(left_out)} genres)'
      notes.append(f'Macro {evaluation.METRIC_LABELS[name]} leaves out '
                   f'{", ".join(left_out)}: undefined for them on this split (for precision: '
                   'the model predicts them for no poster), so TFMA\'s average over all '
                   'genres is undefined too; the mean over the other genres is shown.')
    cells = [f'<td>{_esc(label)}</td>', _number_cell(value.candidate, 4)]
    if has_baseline:
      cells += [_number_cell(value.baseline, 4),
                f'<td data-value="{_data_value(value.change)}">{_change(value, 4)}</td>']
    rows.append(f'<tr data-metric="{name}">{"".join(cells)}</tr>')
  count = overall.example_count.candidate if overall.example_count else float('nan')
  notes.append(f'{_fmt(count, 0)} posters evaluated by TFMA.')
  return (_table('headline', headers, rows, 'headline')
          + ''.join(f'<div class="note">{_esc(note)}</div>' for note in notes))


def _genre_table(data) -> str:
  per_genre = data.evaluation.overall.per_genre
  headers = ['genre', 'support', 'precision', 'recall', 'F1', 'trivial F1', 'AP (AUC-PR)',
             'calibration']
  rows = []
  for genre in data.genres:
    values = per_genre.get(genre, {})
    cells = [f'<td>{_esc(genre)}</td>', _number_cell(data.support[genre], 0)]
    cells += [_metric_cell(values.get(name)) for name in ('precision', 'recall', 'f1_score')]
    cells.append(_number_cell(data.trivial_f1[genre]))
    cells += [_metric_cell(values.get(name)) for name in ('auc_precision_recall',
                                                           'calibration')]
    f1 = values.get('f1_score')
    worse = f1 is not None and f1.candidate < data.trivial_f1[genre]
    rows.append(f'<tr data-genre="{_esc(genre)}"{" class=worse" if worse else ""}>'
                f'{"".join(cells)}</tr>')
  return (_table('sortable genres', headers, rows, 'genre-table')
          + '<div class="note">Precision, recall and F1 are of the model\'s own decisions (the '
          '<code>predicted</code> output: the thresholds tuned on eval and the '
          'min/max-genres rule, as served); AP and calibration (mean score / positive rate) '
          f'are of the scores. Trivial F1: {_esc(data.trivial_name)}. Rows shaded red: '
          'F1 below the trivial baseline. Click a column to sort.'
          + (' Small coloured numbers: change vs the served model (hover for its value).'
             if data.evaluation.has_baseline else '') + '</div>')


def _pr_curves(data) -> str:
  overall = data.evaluation.overall
  charts = []
  for genre in data.genres:
    curve = data.evaluation.pr_curves.get(genre, [])
    points = [(p.recall, p.precision) for p in curve
              if not (math.isnan(p.precision) or math.isnan(p.recall))]
    values = overall.per_genre.get(genre, {})
    operating = None
    label = ''
    if 'precision' in values and 'recall' in values:
      precision, recall = values['precision'].candidate, values['recall'].candidate
      if not (math.isnan(precision) or math.isnan(recall)):
        operating = (recall, precision)
        label = (f'model decisions: precision {precision:.3f}, recall {recall:.3f}')
    prevalence = data.support[genre] / data.posters if data.posters else None
    charts.append(svg.pr_curve(f'{genre} (n={data.support[genre]})', points, operating, label,
                               prevalence))
  return (f'<div class="grid" id="pr-curves">{"".join(charts)}</div>'
          '<div class="note">Precision-recall curves of the scores (TFMA ConfusionMatrixPlot). '
          'Orange dot: the operating point of the model\'s own decisions. Dashed: precision '
          'of guessing (the genre\'s share of the posters).</div>')


def _calibration(data) -> str:
  """All genres' TFMA calibration buckets pooled per score bucket."""
  pooled = {}
  for buckets in data.evaluation.calibration.values():
    for b in buckets:
      total = pooled.setdefault((b.lower, b.upper), [0.0, 0.0, 0.0])
      total[0] += b.examples
      total[1] += b.total_label
      total[2] += b.total_prediction
  points = [(prediction / examples, label / examples, examples)
            for examples, label, prediction in pooled.values() if examples > 0]
  return (f'<div id="calibration">{svg.calibration("Calibration, all genres pooled", points)}'
          '</div><div class="note">Each dot is a score bucket of every (poster, genre) pair '
          '(TFMA CalibrationPlot, summed over genres); on the diagonal, a score of 0.3 means '
          'a 30 % chance of the genre.</div>')


def _slice_rows(data) -> List[str]:
  slices = [s for s in data.evaluation.slices if s.features]

  def order(result: evaluation.SliceResult):
    count = result.example_count.candidate if result.example_count else 0
    value = result.macro.get(SLICE_ORDER_METRIC)
    metric = value.candidate if value is not None else float('nan')
    return (count < MIN_SLICE_POSTERS, math.isnan(metric), metric, result.name)

  rows = []
  for result in [data.evaluation.overall] + sorted(slices, key=order):
    count = result.example_count.candidate if result.example_count else float('nan')
    few = result.features and count < MIN_SLICE_POSTERS
    cells = [f'<td>{_esc(result.name)}</td>', _metric_cell(result.example_count, 0)
             if result.example_count else '<td data-value="NaN">–</td>']
    cells += [_metric_cell(result.macro.get(name)) for name in
              ('precision', 'f1_score', 'auc_precision_recall')]
    rows.append(f'<tr data-slice="{_esc(result.name)}"{" class=few" if few else ""}>'
                f'{"".join(cells)}</tr>')
  return rows


def _slice_table(data) -> str:
  headers = ['slice', 'posters', 'macro precision', 'macro F1', 'macro AP']
  return (_table('sortable slices', headers, _slice_rows(data), 'slice-table')
          + f'<div class="note">Overall first, then every slice, worst macro F1 first; slices '
          f'with fewer than {MIN_SLICE_POSTERS} posters (grey) last. Macro averages run over '
          'every genre, as TFMA computes them, so a slice without posters of some genre '
          'scores low on those genres: compare a slice with the overall row and with its '
          'peers (e.g. the buckets of one feature), not with 1. Macro recall is left out: a '
          'genre without posters in a slice has no recall, which makes TFMA\'s average '
          'undefined for most slices.</div>')


def _mistakes(data) -> str:
  sections = []
  for genre_mistakes in data.mistakes:
    for kind, items in (('most confident false positives', genre_mistakes.false_positives),
                        ('most confident false negatives', genre_mistakes.false_negatives)):
      figures = ''.join(
          f'<figure title="predicted: {_esc(", ".join(m.predicted_genres))}">'
          f'<img src="{m.thumbnail}" alt="poster {_esc(m.poster_id)}">'
          f'<figcaption>{_esc(m.poster_id)} · score {m.score:.2f}<br>'
          f'true: {_esc(", ".join(m.true_genres))}</figcaption></figure>'
          for m in items) or '<div class="note">none</div>'
      sections.append(f'<h3>{_esc(genre_mistakes.genre)}: {kind}</h3>'
                      f'<div class="mistakes">{figures}</div>')
  return (f'<div id="mistakes">{"".join(sections)}</div>'
          f'<div class="note">For the {len(data.mistakes)} most frequent genres on '
          f'{_esc(data.split)}; scores from the model\'s serving signature. Hover a poster '
          'for all the genres the model predicted.</div>')


def render(data) -> str:
  """`data`: a components.slice_report.build.ReportData."""
  body = ''.join([
      _header(data), _gate(data),
      '<h2>Headline</h2>', _headline(data),
      '<h2>Per genre</h2>', _genre_table(data),
      '<h2>Precision-recall curves</h2>', _pr_curves(data),
      '<h2>Calibration</h2>', _calibration(data),
      '<h2>Slices, worst first</h2>', _slice_table(data),
      '<h2>Mistakes</h2>', _mistakes(data),
  ])
  return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
          f'<meta name="viewport" content="width=device-width, initial-scale=1">'
          f'<title>Slice report: {_esc(data.split)}</title><style>{_CSS}</style></head>'
          f'<body>{body}<script>{_SORT_JS}</script></body></html>')
