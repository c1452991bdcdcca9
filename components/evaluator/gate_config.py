"""The push gate's criteria (components/evaluator/eval_config.py applies them).

Macro-averaged AUC-PR on `eval` must reach a floor (the genre prior scores the mean genre
frequency, about 0.06) and must not fall below the served model's by more than the macro
tolerance. Every judged genre's AUC-PR must beat its chance level (its prevalence on `eval`,
the AP of a constant score) and must not fall below the served model's by more than
genre_drop_scale / sqrt(its eval positives). A genre is judged when `eval` holds at least
min_eval_positives of its posters; on fewer, one poster's rank moves its AP by more than a
real loss would. The tolerances come from retraining the default with 5 seeds
(bench/gate_tolerance.py, BENCHMARKS.md): they sit above the largest drop seen there (macro
0.015, and 0.015 on a full retrain with seed 1; per genre up to 0.74 / sqrt(n)).

No TensorFlow here: runners validate the criteria before anything slow is imported.
"""
import dataclasses

from models.config import knob
from models.config import validate


@dataclasses.dataclass(frozen=True)
class GateConfig:
  min_macro_pr_auc: float = knob(0.10, 'Floor of the macro-averaged AUC-PR on eval.',
                                 minimum=0.0)
  max_macro_pr_auc_regression: float = knob(
      0.025, 'How far the macro AUC-PR may fall below the served model\'s.', minimum=0.0)
  genre_drop_scale: float = knob(
      0.9, 'A judged genre\'s AUC-PR may fall below the served model\'s by this / '
      'sqrt(its eval positives).', minimum=0.0)
  min_eval_positives: int = knob(30, 'Eval posters a genre needs to be judged on its own.',
                                 minimum=1)

  def __post_init__(self):
    validate(self)
