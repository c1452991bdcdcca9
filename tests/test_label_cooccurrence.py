"""bench/label_cooccurrence.py: the second stage learns a co-occurrence the first stage missed."""
import numpy as np

from bench import label_cooccurrence
from models import metrics


def test_the_second_stage_borrows_a_partner_genres_score():
  rng = np.random.default_rng(0)
  posters = 600
  partner = (rng.uniform(size=posters) < 0.3).astype(np.int64)
  # Genre 1 always comes with genre 0; its own first-stage score is noise, genre 0's is not.
  labels = np.stack([partner, partner * (rng.uniform(size=posters) < 0.8),
                     (rng.uniform(size=posters) < 0.2)], axis=1).astype(np.int64)
  scores = np.stack([1 / (1 + np.exp(-(3 * partner - 1.5 + rng.normal(0, 1, posters)))),
                     rng.uniform(0.05, 0.95, posters),
                     rng.uniform(0.05, 0.95, posters)], axis=1)
  train, held_out = slice(0, 400), slice(400, None)
  rescore = label_cooccurrence.second_stage(scores[train], labels[train], l2=1e-3, epochs=60,
                                            seed=0)
  before = metrics.average_precision(labels[held_out, 1], scores[held_out, 1])
  after = metrics.average_precision(labels[held_out, 1], rescore(scores[held_out])[:, 1])
  assert after > before + 0.2
