"""SliceReport: the Evaluator's results as one static HTML page, an output artifact.

TFMA's own viewer is a notebook widget; a pipeline run's reviewer needs a page that opens
anywhere. Inputs are the evaluation to report (the test Evaluator's), the examples it ran on
(for the trivial baseline and the posters of the worst mistakes), and optionally the gating
Evaluator's evaluation, whose validation result is the push decision shown at the top.
"""
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.slice_report import executor


class SliceReportHtml(types.Artifact):
  """A directory holding `report.html`, self-contained (no network needed to view it)."""
  TYPE_NAME = 'components.SliceReportHtml'  # see components/__init__.py


class SliceReportSpec(ComponentSpec):
  PARAMETERS = {executor.SPLIT_KEY: ExecutionParameter(type=str)}
  INPUTS = {
      executor.EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
      executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
      executor.GATE_EVALUATION_KEY: ChannelParameter(
          type=standard_artifacts.ModelEvaluation, optional=True),
  }
  OUTPUTS = {executor.REPORT_KEY: ChannelParameter(type=SliceReportHtml)}


class SliceReport(base_component.BaseComponent):
  """Evaluator output -> `report.html` (see reports/)."""

  SPEC_CLASS = SliceReportSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, evaluation: types.BaseChannel, examples: types.BaseChannel,
               split: str = 'test', gate_evaluation: Optional[types.BaseChannel] = None):
    """Args:
      evaluation: the Evaluator output to report, computed on `split` of `examples`.
      examples: PosterExampleGen examples (with `train`, `eval` and `split`).
      gate_evaluation: the gating Evaluator's output; its validation is the gate result.
    """
    super().__init__(spec=SliceReportSpec(
        evaluation=evaluation, examples=examples, split=split,
        gate_evaluation=gate_evaluation,
        report=types.Channel(type=SliceReportHtml)))
