"""bench/gate_power.py on synthetic eval scores: it applies the gate's own decisions, so a
noise candidate is refused and a retrain is blessed wherever a genre is judged."""
import numpy as np

from bench import gate_power
from components.evaluator import genre_judging
from components.evaluator.gate_config import GateConfig

GATE = GateConfig(min_eval_positives=20, genre_drop_scale=0.6)


def _seed_scores(seeds=4, posters=600):
  rng = np.random.default_rng(0)
  # A strong genre, a weak one (barely above chance) and a rare one.
  labels = (rng.random((posters, 3)) < [0.3, 0.1, 0.02]).astype(np.int64)
  signal = np.array([2.0, 0.15, 2.0])
  # What the posters look like to every retrain, and each retrain's own small wobble.
  shared = labels * signal + rng.normal(0, 1, labels.shape)
  scores = {seed: 1 / (1 + np.exp(-(shared + np.random.default_rng(seed).normal(
      0, 0.1, labels.shape)))) for seed in range(seeds)}
  return labels, scores


def test_power_per_genre_follows_the_gate_decisions():
  labels, scores = _seed_scores()
  result = gate_power.measure(labels, scores, ('Strong', 'Weak', 'Rare'), GATE,
                              noise_draws=300)
  strong, weak, rare = (result['per_genre'][g] for g in ('Strong', 'Weak', 'Rare'))
  assert strong['judged_by_seeds'] == 4
  assert strong['noise_refused'] > 0.95 and strong['retrain_blessed'] > 0.95
  assert weak['judged_by_seeds'] == 0 and 'chance level' in weak['reason']
  assert weak['noise_refused'] is None
  assert rare['judged_by_seeds'] == 0 and 'fewer than 20' in rare['reason']
  # The same function decides: the served seed 0's judgements are the gate's.
  aps = gate_power.pr_aucs(labels, scores[0])
  served = genre_judging.judge(('Strong', 'Weak', 'Rare'), labels.sum(axis=0), len(labels),
                               dict(zip(('Strong', 'Weak', 'Rare'), aps)),
                               ('Strong', 'Weak', 'Rare'),
                               min_eval_positives=20, genre_drop_scale=0.6,
                               chance_confidence=GATE.chance_confidence,
                               num_thresholds=1000)
  assert [j.judged for j in served] == [True, False, False]
  assert len(result['macro_pr_auc']) == 4 and 0 <= result['macro_blessed'] <= 1


def test_its_table_renders():
  labels, scores = _seed_scores(seeds=2)
  result = dict(gate_power.measure(labels, scores, ('Strong', 'Weak', 'Rare'), GATE, 50),
                command='c', machine='m', commit='x', date='d')
  markdown = gate_power.render_markdown(result)
  assert markdown.startswith(gate_power.BEGIN_MARKER) and markdown.endswith(gate_power.END_MARKER)
  assert '| Strong |' in markdown and 'fewer than 20' in markdown
