"""GenreEvaluator's executor: TFX's Evaluator, with the TFMA config of this run's genres and
the served model as the baseline.

Both are decided here, at run time, because neither is known when the pipeline is built:
the genres come with the examples (contract/vocabulary.py), the baseline is whatever version
the serving directory holds now (components/evaluator/baseline.py), and which genres the gate
judges depends on both: on the gated split's labels and on the served model's own record of
how well it ranks each genre (components/evaluator/genre_judging.py).
"""
import dataclasses
import json
import os
from typing import Any, Dict, List, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.utils import path_utils

from components.evaluator import baseline as served_baseline
from components.evaluator import eval_config
from components.evaluator import genre_judging
from components.evaluator import signatures
from components.evaluator.gate_config import GateConfig
from contract import vocabulary as genre_vocabulary
from models import data

GATE_KEY = 'gate'
SLICED_KEY = 'sliced'
SERVING_MODEL_DIR_KEY = 'serving_model_dir'
# Written next to TFMA's output: what this evaluation judged and why, for the runner and the
# report.
GATE_FILE = 'genre_gate.json'
# Elements numpy prints of an array before it summarizes one (its default is 1,000).
_PRINTED_ELEMENTS = 6


def _patterns(examples: List[Any], split: str) -> List[str]:
  return [os.path.join(uri, '*') for uri in artifact_utils.get_split_uris(examples, split)]


def count_positives(examples: List[Any], split: str, num_genres: int) -> Tuple[np.ndarray, int]:
  """(positives per genre, examples) in one split of Examples artifacts, as TFMA counts them
  (labels only, no decoding)."""
  index = data.poster_index(_patterns(examples, split), num_genres)
  labels = index.labels[index.record_poster]
  return labels.sum(axis=0), len(labels)


def _judge(examples: List[Any], split: str, genres: Sequence[str], gate: GateConfig,
           served) -> List[genre_judging.Judgement]:
  positives, posters = count_positives(examples, split, len(genres))
  return genre_judging.judge_for_gate(genres, positives, posters,
                                      served.pr_auc if served else None,
                                      served.genres if served else None, gate)


class Executor(tfx_evaluator.Executor):
  """Builds the run's TFMA config and baseline, then runs TFX's Evaluator on them."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    # Several artifacts with spans on: the window of spans, evaluated as one.
    examples = input_dict[specs.EXAMPLES_KEY]
    genres = genre_vocabulary.read_window_vocabulary([example.uri for example in examples])
    splits = json.loads(exec_properties[specs.EXAMPLE_SPLITS_KEY])
    gate_json = exec_properties.get(GATE_KEY)
    gate = GateConfig(**json.loads(gate_json)) if gate_json else None

    served = served_baseline.read_served_model(exec_properties.get(SERVING_MODEL_DIR_KEY) or '')
    comparable = [i for i, genre in enumerate(genres)
                  if served is None or genre in (served.genres or ())]
    if served is not None and not comparable:
      logging.warning('The served model %s %s: it is not compared.', served.path,
                      'shares no genre with the candidate' if served.genres
                      else 'carries no genre vocabulary')
      served = None
      comparable = list(range(len(genres)))
    judgements = []
    if gate is not None:
      if len(splits) != 1:
        raise ValueError(f'The gate judges one split, not {splits}.')
      judgements = _judge(examples, splits[0], genres, gate, served)
    judged = [genre for genre in judgements if genre.judged]

    choose = signatures.SignatureChooser(
        [pattern for split in splits for pattern in _patterns(examples, split)])
    candidate = artifact_utils.get_single_instance(input_dict[specs.MODEL_KEY])
    signature = choose(path_utils.serving_model_path(candidate.uri), 'candidate')
    baseline_signature = choose(served.path, 'served') if served is not None else None
    config = eval_config.build_eval_config(len(genres), gate=gate, judged=judged,
                                           macro_class_ids=comparable,
                                           sliced=bool(exec_properties[SLICED_KEY]),
                                           signature=signature,
                                           baseline_signature=baseline_signature)

    inputs = dict(input_dict)
    if served is not None:
      # TFX loads a Model artifact's SavedModel from <uri>/Format-Serving.
      model = standard_artifacts.Model()
      model.uri = os.path.join(self._get_tmp_dir(), 'served_model')
      served_baseline.write_baseline(served, genres, path_utils.serving_model_dir(model.uri),
                                     baseline_signature)
      inputs[specs.BASELINE_MODEL_KEY] = [model]
    logging.info('Evaluating on %s with %d genres (%d judged by the gate); baseline: %s.',
                 splits, len(genres), len(judged),
                 served.path if served else 'none (nothing served yet)')

    properties = {k: v for k, v in exec_properties.items()
                  if k not in (GATE_KEY, SLICED_KEY, SERVING_MODEL_DIR_KEY)}
    properties[specs.EVAL_CONFIG_KEY] = eval_config.to_json(config)
    # TFMA calls each signature with the batch positionally; TensorFlow tries the signature's
    # keyword binding first and, before falling back to the positional one, formats the whole
    # batch into the TypeError it discards: a batch of serialized posters (about 35 KB each)
    # printed in full, about 5 % of an evaluation's profile (BENCHMARKS.md, "Evaluation
    # cost"). Summarized, it costs nothing.
    with np.printoptions(threshold=_PRINTED_ELEMENTS):
      super().Do(inputs, output_dict, properties)

    evaluation = artifact_utils.get_single_instance(output_dict[specs.EVALUATION_KEY])
    # Class ids in TFMA's metric keys mean these genres.
    genre_vocabulary.write_vocabulary(evaluation.uri, genres)
    served_genres = list(served.genres) if served else None
    with tf.io.gfile.GFile(os.path.join(evaluation.uri, GATE_FILE), 'w') as f:
      json.dump({
          'served_model': served.path if served else None,
          'served_genres': served_genres,
          # Genres only one of the two models knows: never compared.
          'not_comparable': {
              'candidate_only': [g for g in genres if served and g not in served.genres],
              'served_only': [g for g in served_genres or () if g not in genres]},
          'gate': dataclasses.asdict(gate) if gate else None,
          # How TFMA scored each model: on the stored embeddings, or on the posters.
          'signatures': {'candidate': signature, 'served': baseline_signature},
          'genres': [dataclasses.asdict(genre) for genre in judgements],
      }, f, indent=2)
    if served is not None:
      evaluation.set_string_custom_property('served_model', served.path)
