"""Finds the artifacts of a report in a pipeline root, for the command line.

TFX's local layout is `<pipeline_root>/<node id>/<output key>/<execution id>/`, execution ids
growing with time. An Evaluator's output records the model it evaluated (eval_config.json)
but not the examples, so those are the newest ExampleGen output written before the
evaluation; any of the three can be given explicitly instead.
"""
import dataclasses
import os
from typing import Optional

import tensorflow as tf

from components.slice_report import evaluation
from contract import nodes


@dataclasses.dataclass(frozen=True)
class ReportInputs:
  evaluation_uri: str
  examples_uri: str
  split: str
  gate_uri: Optional[str]


def _execution_id(uri: str) -> int:
  name = os.path.basename(os.path.normpath(uri))
  return int(name) if name.isdigit() else -1


def _outputs(pipeline_root: str, node: str, key: str):
  """Output URIs of a node, newest first."""
  uris = tf.io.gfile.glob(os.path.join(pipeline_root, node, key, '*'))
  return sorted((u for u in uris if _execution_id(u) >= 0), key=_execution_id, reverse=True)


def is_evaluation(uri: str) -> bool:
  return tf.io.gfile.exists(os.path.join(uri, evaluation.EVAL_CONFIG_FILE))


def resolve(path: str, examples_uri: Optional[str] = None, split: Optional[str] = None,
            gate_uri: Optional[str] = None) -> ReportInputs:
  """`path`: an Evaluator output, or a pipeline root (its newest test evaluation)."""
  path = os.path.normpath(path)
  if is_evaluation(path):
    evaluation_uri = path
    node_dir = os.path.dirname(os.path.dirname(evaluation_uri))
    pipeline_root, node = os.path.dirname(node_dir), os.path.basename(node_dir)
  else:
    pipeline_root = path
    candidates = (_outputs(pipeline_root, nodes.TEST_EVALUATOR, nodes.EVALUATION)
                  or _outputs(pipeline_root, nodes.EVALUATOR, nodes.EVALUATION))
    candidates = [uri for uri in candidates if is_evaluation(uri)]
    if not candidates:
      raise FileNotFoundError(
          f'{path} is neither a TFMA evaluation nor a pipeline root with an '
          f'{nodes.TEST_EVALUATOR} or {nodes.EVALUATOR} output.')
    evaluation_uri = candidates[0]
    node = os.path.basename(os.path.dirname(os.path.dirname(evaluation_uri)))
  if examples_uri is None:
    earlier = [uri for uri in _outputs(pipeline_root, nodes.EXAMPLE_GEN, nodes.EXAMPLES)
               if _execution_id(uri) < _execution_id(evaluation_uri)]
    if not earlier:
      raise FileNotFoundError(f'No {nodes.EXAMPLE_GEN} examples under {pipeline_root} older than '
                              f'{evaluation_uri}; pass them explicitly.')
    examples_uri = earlier[0]
  if gate_uri is None:
    model, _ = evaluation.model_locations(evaluation_uri)
    gate_uri = next((uri for uri in _outputs(pipeline_root, nodes.EVALUATOR, nodes.EVALUATION)
                     if is_evaluation(uri) and evaluation.model_locations(uri)[0] == model),
                    None)
  if split is None:
    split = 'eval' if node == nodes.EVALUATOR else 'test'
  return ReportInputs(evaluation_uri=evaluation_uri, examples_uri=examples_uri, split=split,
                      gate_uri=gate_uri)
