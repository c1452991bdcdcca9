"""Which genres the push gate judges, and the two statistical criteria it judges them by.

Plain numpy, no TFMA or TensorFlow: the Evaluator's executor and its TFMA metric
(components/evaluator/genre_metrics.py: GenreChanceLevel, GenreAPOverChance) call it, and so does bench/gate_power.py, so the gate
and the benchmark that measures its power cannot disagree about a genre.

Both criteria are on a genre's AUC-PR (TFMA's, at eval_config.AUC_PR_THRESHOLDS; the same
arithmetic as models/pr_auc.py) over the posters the Evaluator scores:

- **Chance level.** Scores that know nothing of a genre rank its n positives among the N
  posters at random, and the AUC-PR of a random ranking is not the prevalence n / N: it sits
  above it, by more the fewer positives there are (about 0.067 for 37 positives in 645
  posters, whose prevalence is 0.057). The chance level is the `chance_confidence` quantile
  of that null distribution for exactly this n and N, simulated with a fixed seed; a
  candidate must score above it. A candidate with noise scores is then refused with
  probability `chance_confidence`, for any genre, whatever its size.
- **No regression.** The candidate's AUC-PR may fall below the served model's, on the same
  posters, by at most `genre_drop_scale / sqrt(n)`: what retrains of one configuration with
  other seeds move it by (bench/gate_power.py measures the scale).

A genre is **judged** only where these criteria can tell a lost genre from a retrained one:
at least `min_eval_positives` positives, and the served model's AUC-PR (its own record, from
the eval posters it was trained against: models/export.py), less the tolerance, is above the
chance level. Below that, a candidate at chance would pass the no-regression check,
and a retrain of the served model would fail the chance check about as often, so judging the
genre would protect nothing and refuse good models. Whether a genre is judged depends on the
served model and the eval split only, never on the candidate: a candidate cannot make a genre
unjudged by losing it.
"""
from concurrent import futures
import dataclasses
import functools
import math
import os
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from models import pr_auc

# Draws of the null distribution: the 99th percentile of 4,000 draws is within about ±0.003
# AUC-PR of the exact one for a 40-positive genre, far below any tolerance the gate applies.
NULL_DRAWS = 4000
NULL_SEED = 20261204
# Draws simulated at once: bounds the simulation's memory (posters x this floats).
_DRAWS_PER_BATCH = 500


def null_auc_pr(positives: int, posters: int, num_thresholds: int,
                draws: int = NULL_DRAWS, seed: int = NULL_SEED) -> np.ndarray:
  """AUC-PR of `draws` random rankings of `positives` positives among `posters` posters."""
  if not 0 < positives <= posters:
    raise ValueError(f'{positives} positives among {posters} posters.')
  rng = np.random.default_rng([seed, positives, posters])
  values = []
  for start in range(0, draws, _DRAWS_PER_BATCH):
    width = min(_DRAWS_PER_BATCH, draws - start)
    # The first `positives` posters of each column are its positives.
    buckets = pr_auc.threshold_buckets(rng.random((posters, width)), num_thresholds)
    values.append(pr_auc.auc_pr_of_buckets(buckets[:positives], buckets[positives:],
                                           num_thresholds))
  return np.concatenate(values)


@functools.lru_cache(maxsize=256)
def chance_level(positives: int, posters: int, confidence: float,
                 num_thresholds: int) -> float:
  """The AUC-PR that random scores stay at or below with probability `confidence`."""
  return float(np.quantile(null_auc_pr(positives, posters, num_thresholds), confidence))


def chance_levels(counts: Sequence[int], posters: int, confidence: float,
                  num_thresholds: int) -> Dict[int, float]:
  """`chance_level` of each positive count in `counts`, simulated side by side: numpy's
  random draws, bincounts and cumulative sums release the GIL, so the simulations of several
  genres share the CPUs (the gating Evaluator waits for them before TFMA starts)."""
  distinct = sorted(set(counts))

  def level(n: int) -> float:
    # Positional, as the TFMA metric calls it: lru_cache keys keyword calls apart.
    return chance_level(n, posters, confidence, num_thresholds)

  workers = min(len(distinct), os.cpu_count() or 1)
  if workers < 2:
    return {n: level(n) for n in distinct}
  with futures.ThreadPoolExecutor(max_workers=workers) as pool:
    return dict(zip(distinct, pool.map(level, distinct)))


def tolerance(positives: int, genre_drop_scale: float) -> float:
  """How far a genre's AUC-PR may fall below the served model's: retrain spread ~ 1/sqrt(n)."""
  return genre_drop_scale / math.sqrt(positives)


@dataclasses.dataclass(frozen=True)
class Judgement:
  """The gate's view of one of the candidate's genres."""
  class_id: int
  genre: str
  eval_positives: int
  posters: int
  # NaN where an earlier reason leaves the genre unjudged: it is not simulated.
  chance_level: float
  tolerance: float
  # The served model's AUC-PR on eval (its own record), None when nothing is served, the
  # served model does not know the genre, or it records no AUC-PR.
  served_pr_auc: Optional[float]
  # Whether the served model knows the genre (by name): only then is a drop measured.
  comparable: bool
  judged: bool
  # Why the genre is not judged (empty when it is), in words for the gate's table.
  reason: str


def judge(genres: Sequence[str], eval_positives: Sequence[int], posters: int,
          served_pr_auc: Optional[Mapping[str, float]], served_genres: Optional[Sequence[str]],
          *, min_eval_positives: int, genre_drop_scale: float, chance_confidence: float,
          num_thresholds: int) -> List[Judgement]:
  """One Judgement per candidate genre, in class-id order.

  `served_genres`: the served model's vocabulary, None while nothing is served.
  `served_pr_auc`: the served model's recorded AUC-PR per genre name on eval, None when it
  records none. Without both, no genre is judged: there is no served signal to weigh a genre
  by (and with nothing served, nothing to protect); the macro criteria still apply.
  """
  if len(genres) != len(eval_positives):
    raise ValueError(f'{len(eval_positives)} positive counts for {len(genres)} genres.')
  served_known = set(served_genres or ())
  # (class id, genre, positives, comparable, served AUC-PR, why not judged: None where the
  # chance level decides).
  rows = []
  for class_id, (genre, n) in enumerate(zip(genres, eval_positives)):
    n = int(n)
    comparable = genre in served_known
    served = (served_pr_auc or {}).get(genre) if comparable else None
    reason = None
    if n < min_eval_positives:
      reason = f'fewer than {min_eval_positives} eval positives'
    elif served_genres is None:
      reason = 'nothing is served yet'
    elif not comparable:
      reason = 'the served model does not know this genre'
    elif served is None:
      reason = 'the served model records no eval AUC-PR (exported before the record existed)'
    rows.append((class_id, genre, n, comparable, served, reason))
  # Only where it can decide: a simulation per genre is most of the judging's time, and a
  # first run, with nothing served, needs none.
  levels = chance_levels([n for _, _, n, _, _, reason in rows if reason is None and n > 0],
                         posters, chance_confidence, num_thresholds)
  result = []
  for class_id, genre, n, comparable, served, reason in rows:
    allowed = tolerance(n, genre_drop_scale) if n > 0 else float('inf')
    # NaN where an earlier reason leaves the genre unjudged.
    level = levels.get(n, float('nan')) if reason is None else float('nan')
    if reason is None:
      reason = (f'served AUC-PR {served:.3f} less its tolerance {allowed:.3f} is not above '
                f'the chance level {level:.3f}: a candidate at chance would pass'
                if served - allowed <= level else '')
    result.append(Judgement(
        class_id=class_id, genre=genre, eval_positives=n, posters=posters,
        chance_level=level, tolerance=allowed, served_pr_auc=served, comparable=comparable,
        judged=not reason, reason=reason))
  return result


def judge_for_gate(genres: Sequence[str], eval_positives: Sequence[int], posters: int,
                   served_pr_auc: Optional[Mapping[str, float]],
                   served_genres: Optional[Sequence[str]], gate) -> List[Judgement]:
  """`judge` with the push gate's criteria (a GateConfig), at the gate's AUC-PR resolution:
  the one call the Evaluator and bench/gate_power.py make."""
  return judge(genres, eval_positives, posters, served_pr_auc, served_genres,
               min_eval_positives=gate.min_eval_positives,
               genre_drop_scale=gate.genre_drop_scale,
               chance_confidence=gate.chance_confidence,
               num_thresholds=pr_auc.GATE_THRESHOLDS)


def refused(judgement: Judgement, candidate_pr_auc: float,
            served_pr_auc: Optional[float]) -> Dict[str, bool]:
  """Which criteria refuse a candidate's AUC-PR on a judged genre (the gate's arithmetic,
  for bench/gate_power.py: the Evaluator applies the same bounds as TFMA thresholds)."""
  return {
      'chance': candidate_pr_auc - judgement.chance_level < 0,
      'regression': (served_pr_auc is not None
                     and candidate_pr_auc - served_pr_auc < -judgement.tolerance),
  }
