"""The push gate's criteria (components/evaluator/eval_config.py applies them, and
components/evaluator/genre_judging.py decides which genres they judge).

Macro-averaged AUC-PR on `eval` must reach a floor (the genre prior scores the mean genre
frequency, about 0.06) and must not fall below the served model's by more than the macro
tolerance. Every judged genre's AUC-PR must beat its chance level (the `chance_confidence`
quantile of the AUC-PR of random scores for its positives and posters) and must not fall
below the served model's by more than genre_drop_scale / sqrt(its eval positives). The
tolerances come from retraining the default with other seeds (bench/gate_power.py,
BENCHMARKS.md "Push-gate power per genre").

No TensorFlow here: runners validate the criteria before anything slow is imported.
"""
import dataclasses

from knobs import knob
from knobs import validate


@dataclasses.dataclass(frozen=True)
class GateConfig:
  min_macro_pr_auc: float = knob(0.10, 'Floor of the macro-averaged AUC-PR on eval.',
                                 minimum=0.0)
  max_macro_pr_auc_regression: float = knob(
      0.03, 'How far the macro AUC-PR may fall below the served model\'s.', minimum=0.0)
  genre_drop_scale: float = knob(
      0.6, 'A judged genre\'s AUC-PR may fall below the served model\'s by this / '
      'sqrt(its eval positives).', minimum=0.0)
  chance_confidence: float = knob(
      0.99, 'A judged genre\'s AUC-PR must exceed this quantile of the AUC-PR random scores '
      'get for its eval positives and posters (a noise candidate is refused this often).',
      minimum=0.5, maximum=0.9999)
  min_eval_positives: int = knob(20, 'Eval posters a genre needs to be judged on its own.',
                                 minimum=1)

  def __post_init__(self):
    validate(self)
