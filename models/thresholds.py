"""The decision rule: from per-genre scores to predicted genres, tuned on `eval`, never `test`.

Rule: a genre is predicted when its score reaches that genre's threshold; every poster gets
at least `min_genres` genres and at most `max_genres` (optional), the slots going to the
genres with the most evidence: the highest scores (`rank_by='score'`), or the largest margins
logit(score) - logit(threshold) (`rank_by='margin'`), so that a rare genre whose score is far
above its own threshold can win a slot from a frequent genre whose higher score only just
reaches its own. Thresholds are tuned on `eval` with the minimum and maximum in place (a
threshold tuned without the cap is tuned for decisions the model never makes), by policy:
  - 'global': the one threshold for every genre that maximizes macro-F1; slots by score;
  - 'per_genre': each genre's F1 optimum; genres with too few eval positives to tune on fall
    back to the global threshold; slots by score;
  - 'base_rate': logit(threshold) = level + tilt x (logit(base rate) - its mean over genres),
    a genre's base rate being its mean score on the tuning posters: two numbers for every
    genre, the level and the tilt toward each genre's own base rate, that maximize macro-F1
    plus micro-F1 (macro-F1 alone bought rare genres' slots with about twice as much
    micro-F1: bench/decision_rules.py); slots by margin. Tilt 0 is the global rule;
  - 'margin': per-genre thresholds for slots by margin, each genre's F1 optimum given the
    other genres' thresholds (exact, in rounds), shrunk toward the global threshold with
    MARGIN_SHRINKAGE pseudo-positives, then taken MARGIN_PULL of the way from 'base_rate''s
    thresholds toward them in logit space. A genre's own optimum needs many positives: the
    Trainer tunes this policy on `eval` together with out-of-fold scores of the train
    posters (models/transfer.py), about eight times eval's positives.
Plain numpy: the exported SavedModel implements the same rule in TensorFlow
(models/export.py) and a test checks they agree.
"""
import dataclasses
from typing import Callable, List, Optional, Sequence

import numpy as np

from models import metrics

DEFAULT_CANDIDATES = tuple(np.round(np.arange(0.05, 0.951, 0.025), 3))
# Tilts of the 'base_rate' policy, from none (the global rule) to thresholds that follow each
# genre's base rate one for one in logit space.
BASE_RATE_TILTS = (0.0, 0.25, 0.5, 0.75, 1.0)
RANKINGS = ('score', 'margin')
POLICIES = ('per_genre', 'global', 'base_rate', 'margin')
# The Trainer's policy, chosen on a cross-fitted `eval` (bench/decision_rules.py); the others
# decide the trivial baselines (models/baselines.py) and are what the benches compare it with.
MODEL_POLICY = 'margin'
# The Trainer's policy for a model without out-of-fold scores (a fine-tuned backbone, a CNN
# from scratch): each genre's own optimum on eval's few positives alone was noise
# (bench/decision_rules.py, Part 1), so two numbers for all genres.
EVAL_ONLY_POLICY = 'base_rate'
# The 'margin' policy's shrinkage of each genre's own threshold toward the global one (in
# pseudo-positives), and how far its thresholds go from 'base_rate''s toward the per-genre
# ones. The pull was chosen on a cross-fitted `eval` among 0.25, 0.5, 0.75 and 1: the
# largest macro-F1 whose micro-F1 is not below the previous default's (three heads,
# 'base_rate') beyond its paired interval; each step further buys macro-F1 with micro-F1
# (BENCHMARKS.md "Rare genres in the answers").
MARGIN_SHRINKAGE = 30.0
MARGIN_PULL = 0.25
# Rounds of the 'margin' policy's turns: each genre's optimum moves the others' entry bars.
MARGIN_ROUNDS = 3
# Fewer eval positives than this and a genre's own F1-optimal threshold is noise.
MIN_POSITIVES_TO_TUNE = 8


@dataclasses.dataclass(frozen=True)
class DecisionRule:
  thresholds: List[float]
  min_genres: int = 1
  max_genres: Optional[int] = None
  # What fills a poster's minimum and maximum of genres: one of RANKINGS.
  rank_by: str = 'score'

  def apply(self, scores: np.ndarray) -> np.ndarray:
    return apply_rule(scores, self.thresholds, self.min_genres, self.max_genres, self.rank_by)


def genre_ranks(scores: np.ndarray) -> np.ndarray:
  """Each genre's rank within its poster [N, G]: 0 = the poster's highest score.

  Ties are broken by genre order, as tf.math.top_k does.
  """
  return np.argsort(np.argsort(-scores, axis=1, kind='stable'), axis=1, kind='stable')


def logit(p: np.ndarray) -> np.ndarray:
  """log(p / (1 - p)), elementwise; -inf at 0 and +inf at 1 (a saturated score)."""
  with np.errstate(divide='ignore'):
    return np.log(p) - np.log1p(-p)


def clipped_logit(p: np.ndarray) -> np.ndarray:
  """logit(p), finite: a saturated score would make it infinite."""
  return logit(np.clip(np.asarray(p, np.float64), 1e-6, 1.0 - 1e-6))


def slot_evidence(scores: np.ndarray, thresholds: np.ndarray, rank_by: str) -> np.ndarray:
  """What a poster's genres are ranked by for its minimum and maximum of genres [N, G]."""
  if rank_by == 'score':
    return scores
  if rank_by == 'margin':
    return logit(scores) - logit(thresholds)[np.newaxis, :]
  raise ValueError(f'Unknown ranking {rank_by!r}: use one of {", ".join(RANKINGS)}.')


def apply_rule(scores: np.ndarray, thresholds: Sequence[float], min_genres: int = 1,
               max_genres: Optional[int] = None, rank_by: str = 'score') -> np.ndarray:
  """0/1 predictions [N, G] from scores [N, G] under the rule described above."""
  scores = np.asarray(scores, dtype=np.float64)
  thresholds = np.asarray(thresholds, dtype=np.float64)
  predicted = scores >= thresholds[np.newaxis, :]
  forced_on, forced_off = forced_decisions(
      genre_ranks(slot_evidence(scores, thresholds, rank_by)), min_genres, max_genres)
  return ((predicted | forced_on) & ~forced_off).astype(np.int64)


def forced_decisions(ranks: np.ndarray, min_genres: int, max_genres: Optional[int]):
  """(predicted whatever the threshold, never predicted whatever the threshold) [N, G]."""
  forced_off = ranks >= max_genres if max_genres else np.zeros(ranks.shape, dtype=bool)
  forced_on = (ranks < min_genres) & ~forced_off
  return forced_on, forced_off


def tune_global_threshold(labels: np.ndarray, scores: np.ndarray,
                          candidates: Sequence[float] = DEFAULT_CANDIDATES,
                          min_genres: int = 0, max_genres: Optional[int] = None) -> float:
  """The one threshold, shared by every genre, that maximizes macro-F1 under the rule.

  Ties go to the higher threshold (fewer false positives).
  """
  best_threshold, best_f1 = float(candidates[0]), -1.0
  for threshold in candidates:
    predicted = apply_rule(scores, [threshold] * scores.shape[1], min_genres, max_genres)
    f1 = metrics.macro_f1(labels, predicted)
    if f1 >= best_f1:
      best_threshold, best_f1 = float(threshold), f1
  return best_threshold


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray,
                      forced_on: Optional[np.ndarray] = None,
                      forced_off: Optional[np.ndarray] = None) -> float:
  """The threshold maximizing one genre's F1, placed midway to the next lower score.

  `forced_on` / `forced_off` (bool [N]) mark the posters that the rule's minimum / maximum
  number of genres predicts / leaves out whatever the threshold: they count in the F1, and
  the threshold decides only the others. Exhaustive over the distinct scores of those (a
  cut between two runs of equal scores, or above them all), so it is exact, not limited to
  a grid. Requires at least one positive.
  """
  labels = np.asarray(labels, dtype=np.float64)
  scores = np.asarray(scores, dtype=np.float64)
  forced_on = np.zeros(len(scores), bool) if forced_on is None else forced_on
  forced_off = np.zeros(len(scores), bool) if forced_off is None else forced_off
  free = ~forced_on & ~forced_off
  positives = float(labels.sum())
  forced_true_positives = float(labels[forced_on].sum())
  forced_predicted = float(forced_on.sum())
  order = np.argsort(-scores[free], kind='mergesort')
  sorted_scores = scores[free][order]
  # Predicting none of the free posters: a threshold just above the highest free score.
  best_threshold = float(np.nextafter(np.float32(sorted_scores[0] if len(sorted_scores)
                                                 else scores.max()), np.float32(np.inf)))
  best_f1 = 2.0 * forced_true_positives / (forced_predicted + positives)
  if not len(sorted_scores):
    return best_threshold
  cuts = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
  true_positives = forced_true_positives + np.cumsum(labels[free][order])[cuts]
  f1 = 2.0 * true_positives / (forced_predicted + cuts + 1 + positives)
  best = int(np.argmax(f1))
  # Ties go to the higher threshold (fewer false positives).
  if f1[best] <= best_f1:
    return best_threshold
  cut = cuts[best]
  if cut + 1 < len(sorted_scores):
    return float((sorted_scores[cut] + sorted_scores[cut + 1]) / 2.0)
  return float(sorted_scores[cut])


def tune_per_genre_thresholds(labels: np.ndarray, scores: np.ndarray,
                              min_positives: int = MIN_POSITIVES_TO_TUNE,
                              min_genres: int = 0,
                              max_genres: Optional[int] = None) -> List[float]:
  """Each genre's F1-optimal threshold under the rule; the global one where positives are few.

  A genre's rank within a poster does not depend on any threshold, so under the rule each
  genre's decisions depend on its own threshold only: tuning each one for its F1 with the
  minimum and maximum number of genres in place is exact, not a coordinate search.
  """
  labels = np.asarray(labels, dtype=np.int64)
  scores = np.asarray(scores, dtype=np.float64)
  forced_on, forced_off = forced_decisions(genre_ranks(scores), min_genres, max_genres)
  fallback = tune_global_threshold(labels, scores, min_genres=min_genres,
                                   max_genres=max_genres)
  return [best_f1_threshold(labels[:, g], scores[:, g], forced_on[:, g], forced_off[:, g])
          if labels[:, g].sum() >= min_positives else fallback
          for g in range(labels.shape[1])]


def macro_plus_micro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
  """What the 'base_rate' policy maximizes: rare genres count through macro-F1, and the
  frequent genres' decisions, most of all answers, through micro-F1."""
  return metrics.macro_f1(labels, predicted) + metrics.micro_f1(labels, predicted)


def tune_base_rate_thresholds(labels: np.ndarray, scores: np.ndarray, min_genres: int = 0,
                              max_genres: Optional[int] = None,
                              candidates: Sequence[float] = DEFAULT_CANDIDATES,
                              tilts: Sequence[float] = BASE_RATE_TILTS,
                              objective: Callable[[np.ndarray, np.ndarray], float] = (
                                  macro_plus_micro_f1)) -> List[float]:
  """The 'base_rate' policy's thresholds: the level and tilt that maximize `objective`
  (labels, predicted) under the rule with slots by margin; by default macro-F1 plus micro-F1
  (bench/decision_rules.py compares it with macro-F1 alone).

  Two numbers fit every genre, so a genre with a handful of eval positives gets a threshold
  that follows its base rate rather than an F1 optimum on those few (bench/decision_rules.py
  measures what the latter costs). Ties go to the smaller tilt, then to the higher level.
  """
  scores = np.asarray(scores, dtype=np.float64)
  base = clipped_logit(scores.mean(axis=0))
  base -= base.mean()
  best_thresholds, best_value, best_tilt = None, -1.0, None
  for tilt in tilts:
    for level in candidates:
      cuts = 1.0 / (1.0 + np.exp(-(logit(np.float64(level)) + tilt * base)))
      predicted = apply_rule(scores, cuts, min_genres, max_genres, 'margin')
      value = objective(labels, predicted)
      if value > best_value or (value == best_value and tilt == best_tilt):
        best_thresholds, best_value, best_tilt = cuts, value, tilt
  return best_thresholds.tolist()


def shrink(own: np.ndarray, shared: float, positives: np.ndarray, k: float) -> np.ndarray:
  """(n own + k shared) / (n + k) per genre with n positives: the fewer, the nearer shared."""
  return (positives * np.asarray(own) + k * shared) / (positives + k)


def entry_bar(others: np.ndarray, min_genres: int, max_genres: Optional[int]) -> np.ndarray:
  """[N]: the margin a genre needs to be predicted, given the other genres' margins [N, G-1]
  under the rule's bounds: it must clear its threshold (margin 0) or be among the top
  `min_genres`, and be among the top `max_genres` (ties aside)."""
  ordered = -np.sort(-others, axis=1)
  floor = ordered[:, min_genres - 1] if min_genres else np.inf
  cap = ordered[:, max_genres - 1] if max_genres else -np.inf
  return np.maximum(np.minimum(0.0, floor), cap)


def margin_thresholds(labels: np.ndarray, scores: np.ndarray, k: float, min_genres: int = 0,
                      max_genres: Optional[int] = None,
                      rounds: int = MARGIN_ROUNDS) -> np.ndarray:
  """Per-genre thresholds for slots by margin, each its genre's F1 optimum given the others'.

  With the other genres' margins fixed, a genre is predicted exactly where its logit minus
  `entry_bar` reaches its own logit threshold, so each genre's optimum is exact; the genres
  take turns for `rounds` rounds, starting from the global threshold (where margins rank as
  scores do). Each is shrunk toward the global threshold's logit with k pseudo-positives;
  genres with too few positives to tune on keep the global one.
  """
  z = clipped_logit(scores)
  positives = labels.sum(axis=0)
  shared = float(clipped_logit(tune_global_threshold(
      labels, scores, min_genres=min_genres, max_genres=max_genres)))
  cuts = np.full(scores.shape[1], shared)
  for _ in range(rounds):
    for genre in np.flatnonzero(positives >= MIN_POSITIVES_TO_TUNE):
      others = np.delete(z - cuts[np.newaxis, :], genre, axis=1)
      own = best_f1_threshold(labels[:, genre],
                              z[:, genre] - entry_bar(others, min_genres, max_genres))
      cuts[genre] = shrink(own, shared, positives[genre], k)
  return 1.0 / (1.0 + np.exp(-cuts))


def tune_margin_thresholds(labels: np.ndarray, scores: np.ndarray, min_genres: int = 0,
                           max_genres: Optional[int] = None,
                           shrinkage: float = MARGIN_SHRINKAGE,
                           pull: float = MARGIN_PULL) -> List[float]:
  """The 'margin' policy's thresholds: 'base_rate''s, taken `pull` of the way toward
  `margin_thresholds` in logit space (0: 'base_rate''s; 1: the per-genre ones)."""
  base = clipped_logit(tune_base_rate_thresholds(labels, scores, min_genres, max_genres))
  own = clipped_logit(margin_thresholds(labels, scores, shrinkage, min_genres, max_genres))
  return (1.0 / (1.0 + np.exp(-(base + pull * (own - base))))).tolist()


def tune_rule(labels: np.ndarray, scores: np.ndarray, policy: str,
              min_genres: int = 1, max_genres: Optional[int] = None) -> DecisionRule:
  """The decision rule for `policy` (one of POLICIES), tuned on these data with the rule's
  minimum and maximum number of genres in place."""
  bounds = dict(min_genres=min_genres, max_genres=max_genres)
  if policy == 'per_genre':
    return DecisionRule(tune_per_genre_thresholds(labels, scores, **bounds), **bounds)
  if policy == 'global':
    return DecisionRule([tune_global_threshold(labels, scores, **bounds)] * labels.shape[1],
                        **bounds)
  if policy == 'base_rate':
    return DecisionRule(tune_base_rate_thresholds(labels, scores, **bounds), **bounds,
                        rank_by='margin')
  if policy == 'margin':
    return DecisionRule(tune_margin_thresholds(labels, scores, **bounds), **bounds,
                        rank_by='margin')
  raise ValueError(f"Unknown threshold policy {policy!r}: use one of {', '.join(POLICIES)}.")
