"""RareGenreOversampler: a custom Beam component between ExampleGen and the Trainer."""
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.oversampler import executor
from components.oversampler import policy
from components.span_window.component import SpanWindow


class RareGenreOversamplerSpec(ComponentSpec):
  PARAMETERS = {
      executor.SPLIT_KEY: ExecutionParameter(type=str),
      executor.MAX_COPIES_KEY: ExecutionParameter(type=int),
      executor.MAX_GROWTH_KEY: ExecutionParameter(type=float),
  }
  INPUTS = {
      executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True),
      executor.WINDOW_KEY: ChannelParameter(type=SpanWindow, optional=True),
  }
  OUTPUTS = {
      executor.OVERSAMPLED_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
  }


class RareGenreOversampler(base_beam_component.BaseBeamComponent):
  """Repeats rare-genre posters of the train split (see policy.py); other splits unchanged.

  Outputs `oversampled_examples`: the same splits, the genre vocabulary, and
  `oversampling_summary.json` with per-genre positive counts before and after.
  """

  SPEC_CLASS = RareGenreOversamplerSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, examples: Optional[types.BaseChannel] = None,
               window: Optional[types.BaseChannel] = None, split: str = 'train',
               max_copies: int = policy.DEFAULT_MAX_COPIES,
               max_growth: float = policy.DEFAULT_MAX_GROWTH):
    """Oversamples `examples`, or with spans the embedded examples of every span of `window`
    (a SpanWindow); exactly one of the two."""
    if (examples is None) == (window is None):
      raise ValueError('RareGenreOversampler takes examples or a window of spans, one of them.')
    policy.validate(max_copies, max_growth)
    super().__init__(spec=RareGenreOversamplerSpec(
        examples=examples, window=window, split=split, max_copies=max_copies,
        max_growth=max_growth,
        oversampled_examples=types.Channel(type=standard_artifacts.Examples)))
