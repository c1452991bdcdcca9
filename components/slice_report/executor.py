"""Executor of SliceReport: a thin shell around components/slice_report/build.py."""
from typing import Any, Dict, List

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.slice_report import build

EVALUATION_KEY = 'evaluation'
GATE_EVALUATION_KEY = 'gate_evaluation'
EXAMPLES_KEY = 'examples'
REPORT_KEY = 'report'
SPLIT_KEY = 'split'


class Executor(base_executor.BaseExecutor):
  """Writes `report.html` for the evaluation into the `report` artifact."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    evaluation = artifact_utils.get_single_instance(input_dict[EVALUATION_KEY])
    # Several artifacts with spans on: the window of spans.
    examples = input_dict[EXAMPLES_KEY]
    gate = input_dict.get(GATE_EVALUATION_KEY) or []
    report = artifact_utils.get_single_instance(output_dict[REPORT_KEY])
    data = build.gather(evaluation.uri, [example.uri for example in examples],
                        split=exec_properties[SPLIT_KEY],
                        gate_uri=artifact_utils.get_single_uri(gate) if gate else None)
    path = build.write_report(data, report.uri)
    if data.gate is not None:
      report.set_int_custom_property('blessed', int(data.gate.blessed))
    logging.info('Slice report of %s on %s: %s', evaluation.uri, data.split, path)
