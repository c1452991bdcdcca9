"""The report page, on hand-made evaluation results."""
from components.slice_report import evaluation
from components.slice_report import mistakes
from components.slice_report import page
from components.slice_report.build import ReportData
from tests.synthetic import poster_bytes

GENRES = ['Drama', 'Comedy', 'Sci-Fi']


def _slice(features, count, f1, baseline_f1=None):
  change = None if baseline_f1 is None else f1 - baseline_f1
  value = evaluation.Value(f1, baseline_f1, change)
  per_genre = {genre: {'precision': value, 'recall': value, 'f1_score': value,
                       'auc_precision_recall': value, 'calibration': value}
               for genre in GENRES}
  return evaluation.SliceResult(
      features=features, example_count=evaluation.Value(count),
      macro={'f1_score': value, 'auc_precision_recall': value}, per_genre=per_genre)


def _data(gate, baseline=None, slices=None):
  result = evaluation.Evaluation(
      uri='/root/TestEvaluator/evaluation/9', model_location='/root/Trainer/model/7',
      baseline_location=baseline,
      slices=slices or [_slice((), 100, 0.5)],
      pr_curves={g: [evaluation.CurvePoint(0.5, 0.8, 0.4)] for g in GENRES},
      calibration={g: [evaluation.CalibrationBucket(0.0, 0.1, 10, 1, 0.5)] for g in GENRES})
  thumbnail = mistakes.thumbnail_data_uri(poster_bytes(width=40, height=60))
  wrong = mistakes.Mistake('tt1', 0.9, ['Drama'], ['Comedy'], thumbnail)
  return ReportData(
      evaluation=result, gate=gate, gate_uri='/root/Evaluator/evaluation/8',
      examples_uris=('/root/PosterExampleGen/examples/1',), split='test', genres=GENRES,
      posters=100, support={'Drama': 50, 'Comedy': 30, 'Sci-Fi': 0},
      trivial_f1={'Drama': 0.6, 'Comedy': 0.1, 'Sci-Fi': 0.0}, trivial_name='prior',
      mistakes=[mistakes.GenreMistakes('Drama', [wrong], [])])


def test_failed_gate_shows_the_genre_table_names_the_refusal_and_is_self_contained():
  checks = [
      evaluation.GateCheck('macro average', 'auc_precision_recall', 0.40, 0.41, 0.1, 0.01, ()),
      evaluation.GateCheck('Comedy', 'auc_precision_recall', 0.62, 0.60, 0.3, 0.05, ()),
      evaluation.GateCheck('Drama', 'auc_precision_recall', 0.20, 0.52, 0.45, 0.05,
                           (evaluation.FLOOR, evaluation.NO_DROP))]
  rendered = page.render(_data(evaluation.Gate(blessed=False, first_model=False,
                                               checks=checks)))
  top = rendered.index('id="gate"')
  assert top < rendered.index('id="gate-table"') < rendered.index('id="genre-table"')
  assert 'NOT BLESSED' in rendered
  assert '<li><b>Drama</b> auc_precision_recall = 0.2000</li>' in rendered
  assert ('<tr data-gate-subject="Drama" class=refused><td>Drama</td><td>0.2000</td>'
          '<td>0.5200</td><td>-0.3200</td><td>0.4500</td><td>0.0500</td><td>refused: below '
          'its floor and dropped beyond the tolerance</td></tr>') in rendered
  assert '<tr data-gate-subject="Comedy"><td>Comedy</td>' in rendered
  for remote in ('http://', 'https://', '//cdn', '<link', 'src="http'):
    assert remote not in rendered.replace('http://www.w3.org/2000/svg', '')
  assert rendered.count('<svg') == len(GENRES) + 1
  assert 'data:image/jpeg;base64,' in rendered


def test_genres_below_the_trivial_baseline_are_flagged():
  rendered = page.render(_data(evaluation.Gate(True, [], False)))
  assert '<tr data-genre="Drama" class=worse>' in rendered  # 0.5 < 0.6
  assert '<tr data-genre="Comedy">' in rendered


def test_with_a_baseline_every_metric_shows_its_change():
  slices = [_slice((), 100, 0.5, baseline_f1=0.4)]
  rendered = page.render(_data(evaluation.Gate(True, [], False), baseline='/b', slices=slices))
  assert '<span class="up">+0.100</span>' in rendered
  assert 'title="served 0.400"' in rendered
  assert '<th>served</th><th>change</th>' in rendered


def test_slices_are_listed_worst_first_and_small_slices_last():
  slices = [_slice((), 300, 0.5), _slice((('genres', 'Drama'),), 120, 0.7),
            _slice((('size_bucket', 'small'),), 40, 0.2),
            _slice((('genres', 'Sci-Fi'),), 5, 0.0),
            _slice((('n_genres', '3'),), 60, float('nan'))]
  rows = page._slice_rows(_data(None, slices=slices))  # pylint: disable=protected-access
  order = [row.split('data-slice="')[1].split('"')[0] for row in rows]
  assert order == ['Overall', 'size_bucket = small', 'genres = Drama', 'n_genres = 3',
                   'genres = Sci-Fi']
  assert 'class=few' in rows[-1]


def test_thumbnails_are_small_jpegs():
  uri = mistakes.thumbnail_data_uri(poster_bytes(width=300, height=450))
  assert uri.startswith('data:image/jpeg;base64,') and len(uri) < 20_000


def test_an_undefined_macro_average_is_replaced_by_the_mean_over_the_defined_genres():
  overall = _slice((), 100, 0.5)
  nan = evaluation.Value(float('nan'))
  overall.macro['precision'] = nan
  overall.per_genre['Drama']['precision'] = evaluation.Value(0.4)
  overall.per_genre['Comedy']['precision'] = evaluation.Value(0.6)
  overall.per_genre['Sci-Fi']['precision'] = nan
  value, left_out = overall.defined_macro('precision')
  assert value.candidate == 0.5 and left_out == ['Sci-Fi']
  rendered = page.render(_data(evaluation.Gate(True, [], False), slices=[overall]))
  headline = rendered[rendered.index('id="headline"'):rendered.index('id="genre-table"')]
  assert '<td>precision (2 genres)</td><td data-value="0.5">0.5000</td>' in headline
  assert 'Macro precision leaves out Sci-Fi' in headline
  assert '–' not in headline


def test_a_first_model_s_gate_says_only_the_macro_average_is_judged():
  macro = evaluation.GateCheck('macro average', 'auc_precision_recall', 0.40, None, 0.1, None,
                               ())
  rendered = page.render(_data(evaluation.Gate(True, [macro], True)))
  assert 'the macro average (no genre is judged without a served model' in rendered
  assert 'each of the 0 judged genres' not in rendered
  assert 'Served model: none yet' in rendered
