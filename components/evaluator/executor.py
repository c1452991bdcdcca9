"""GenreEvaluator's executor: TFX's Evaluator, with the TFMA config of this run's genres and
the served model as the baseline.

Both are decided here, at run time, because neither is known when the pipeline is built:
the genres come with the examples (contract/vocabulary.py), the gate's judged genres from
the gated split's labels, and the baseline is whatever version the serving directory holds
now (TF Serving serves the highest). Finding the baseline by reading the serving directory
rather than through a resolver node keeps the compiled pipeline free of resolver executors,
which open-source Kubeflow Pipelines cannot run, and compares the candidate with the model
that is really served.
"""
import dataclasses
import json
import os
from typing import Any, Dict, List, Optional

from absl import logging
import numpy as np
import tensorflow as tf
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.utils import path_utils

from components import artifact_files
from components.evaluator import eval_config
from components.evaluator.gate_config import GateConfig
from contract import vocabulary as genre_vocabulary
from models import data

GATE_KEY = 'gate'
SLICED_KEY = 'sliced'
SERVING_MODEL_DIR_KEY = 'serving_model_dir'
# Written next to TFMA's output: what this evaluation judged, for the runner and the report.
GATE_FILE = 'genre_gate.json'


def served_version_dir(serving_model_dir: str) -> Optional[str]:
  """The version TF Serving serves from `serving_model_dir` (its highest numeric version
  holding a SavedModel), or None while nothing has been pushed."""
  if not serving_model_dir or not tf.io.gfile.isdir(serving_model_dir):
    return None
  versions = sorted((int(name.rstrip('/')) for name in tf.io.gfile.listdir(serving_model_dir)
                     if name.rstrip('/').isdigit()), reverse=True)
  for version in versions:
    path = os.path.join(serving_model_dir, str(version))
    if tf.io.gfile.exists(os.path.join(path, 'saved_model.pb')):
      return path
  return None


def count_positives(examples: List[Any], split: str, num_genres: int) -> np.ndarray:
  """Posters per genre in one split of Examples artifacts (labels only, no decoding)."""
  patterns = [os.path.join(uri, '*')
              for uri in artifact_utils.get_split_uris(examples, split)]
  return data.poster_index(patterns, num_genres).labels.sum(axis=0)


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
    judged = []
    if gate is not None:
      if len(splits) != 1:
        raise ValueError(f'The gate judges one split, not {splits}.')
      positives = count_positives(examples, splits[0], len(genres))
      judged = eval_config.judged_genres(genres, positives, gate.min_eval_positives)
    config = eval_config.build_eval_config(len(genres), gate=gate, judged=judged,
                                           sliced=bool(exec_properties[SLICED_KEY]))

    inputs = dict(input_dict)
    served = served_version_dir(exec_properties.get(SERVING_MODEL_DIR_KEY) or '')
    if served is not None:
      # TFX loads a Model artifact's SavedModel from <uri>/Format-Serving.
      baseline = standard_artifacts.Model()
      baseline.uri = os.path.join(self._get_tmp_dir(), 'served_model')
      artifact_files.copy_tree(served, path_utils.serving_model_dir(baseline.uri))
      inputs[specs.BASELINE_MODEL_KEY] = [baseline]
    logging.info('Evaluating on %s with %d genres (%d judged by the gate); baseline: %s.',
                 splits, len(genres), len(judged), served or 'none (nothing served yet)')

    properties = {k: v for k, v in exec_properties.items()
                  if k not in (GATE_KEY, SLICED_KEY, SERVING_MODEL_DIR_KEY)}
    properties[specs.EVAL_CONFIG_KEY] = eval_config.to_json(config)
    super().Do(inputs, output_dict, properties)

    evaluation = artifact_utils.get_single_instance(output_dict[specs.EVALUATION_KEY])
    # Class ids in TFMA's metric keys mean these genres.
    genre_vocabulary.write_vocabulary(evaluation.uri, genres)
    with tf.io.gfile.GFile(os.path.join(evaluation.uri, GATE_FILE), 'w') as f:
      json.dump({'served_model': served,
                 'judged': [dataclasses.asdict(genre) for genre in judged]}, f, indent=2)
    if served is not None:
      evaluation.set_string_custom_property('served_model', served)
