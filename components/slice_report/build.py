"""Gathers everything one slice report shows, and writes it as one self-contained HTML file.

Quality numbers come from the Evaluator's output (components/slice_report/evaluation.py), unchanged. Two
things TFMA does not have are computed here from the same split, with the project's shared
helpers: the trivial-baseline F1 per genre (models/baselines.py: the genre prior, decided by
the same eval-tuned rule the models use) and the most confident mistakes, which need
per-poster scores (models/batch_predict.py: the model's own answers, decision rule included,
through the signature the Evaluators scored it with: the head alone on the stored embeddings
where they hold, components/evaluator/signatures.py).
"""
import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from components.evaluator import signatures
from contract import vocabulary as genre_vocabulary
from models import baselines
from models import batch_predict
from models import metrics
from components.slice_report import evaluation
from components.slice_report import mistakes
from components.slice_report import page

REPORT_FILE = 'report.html'
# The few genres whose mistakes are shown (the most frequent on the split), and how many of
# each kind: enough to see a pattern, few enough to keep the page a few hundred KB.
MISTAKE_GENRES = 4
MISTAKES_PER_KIND = 5


@dataclasses.dataclass
class ReportData:
  """Everything the page renders."""
  evaluation: evaluation.Evaluation
  gate: Optional[evaluation.Gate]
  gate_uri: Optional[str]
  examples_uris: Tuple[str, ...]
  split: str
  genres: List[str]
  posters: int
  support: Dict[str, int]
  trivial_f1: Dict[str, float]
  trivial_name: str
  mistakes: List[mistakes.GenreMistakes]


def gather(evaluation_uri: str, examples_uris: Sequence[str], split: str = 'test',
           gate_uri: Optional[str] = None) -> ReportData:
  """`evaluation_uri`: the Evaluator output on `split` of the PosterExampleGen examples at
  `examples_uris` (several: a window of spans); `gate_uri`: the gating Evaluator's output,
  for the push decision."""
  examples_uris = tuple(examples_uris)
  genres = list(genre_vocabulary.read_window_vocabulary(examples_uris))
  result = evaluation.load_evaluation(evaluation_uri, genres)
  gate = evaluation.load_gate(gate_uri, genres) if gate_uri else None

  posters = batch_predict.read_split(examples_uris, split, with_records=True)
  train = batch_predict.read_split(examples_uris, 'train', with_images=False)
  tuning = batch_predict.read_split(examples_uris, 'eval', with_images=False)
  _, trivial_predicted = baselines.genre_prior(train.labels, tuning.labels, len(posters.ids))
  trivial_f1 = metrics.f1_per_genre(posters.labels, trivial_predicted)

  choose = signatures.SignatureChooser(batch_predict.split_files(examples_uris, split))
  scores, predicted, classes = batch_predict.score_examples(
      result.model_location, posters.records, choose(result.model_location, 'candidate'))
  if list(classes) != genres:
    raise ValueError(f'The model at {result.model_location} has genres {classes}, the '
                     f'examples at {", ".join(examples_uris)} {genres}.')
  support = posters.labels.sum(axis=0)
  most_frequent = [genres[g] for g in np.argsort(-support, kind='stable')[:MISTAKE_GENRES]]
  return ReportData(
      evaluation=result, gate=gate, gate_uri=gate_uri, examples_uris=examples_uris,
      split=split, genres=genres, posters=len(posters.ids),
      support={genre: int(n) for genre, n in zip(genres, support)},
      trivial_f1={genre: float(f1) for genre, f1 in zip(genres, trivial_f1)},
      trivial_name='genre prior (train frequencies, per-genre thresholds tuned on eval)',
      mistakes=[mistakes.most_confident_mistakes(
          genre, genres, posters.ids, posters.images, posters.labels, scores, predicted,
          MISTAKES_PER_KIND) for genre in most_frequent])


def write_report(data: ReportData, output_dir: str) -> str:
  """Writes `report.html` into `output_dir`; returns its path."""
  tf.io.gfile.makedirs(output_dir)
  path = os.path.join(output_dir, REPORT_FILE)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(page.render(data))
  return path
