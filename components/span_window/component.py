"""SpanWindow: the window of spans, accumulated run by run, for every orchestrator.

    examples + embedded_examples of the new span, and the window the last run published
      -> window (manifest: every span's artifacts) and window_examples (every span's
         embedded examples, copied into one Examples artifact, for the Evaluators and the
         report)

The window is found in its directory (`window_dir`), not resolved from ML Metadata, so the
same definition runs under LocalDagRunner, on Vertex AI and on open-source Kubeflow
Pipelines, which runs no resolver (docs/continuous_training.md, section 3).
"""
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.span_window import executor


class SpanWindow(types.Artifact):
  """A manifest of the window's spans (`span_window.json`: span, version, and the URIs and
  splits of each span's examples and embedded examples).

  The type name is the class's import path, `<top-level module>.<Class>` (re-exported by
  `components/__init__.py`), which the Kubeflow V2 / Vertex AI launcher imports.
  """
  TYPE_NAME = 'components.SpanWindow'


class SpanWindowSpec(ComponentSpec):
  PARAMETERS = {
      executor.WINDOW_DIR_KEY: ExecutionParameter(type=str),
      executor.NUM_SPANS_KEY: ExecutionParameter(type=int),
  }
  INPUTS = {
      executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
      executor.EMBEDDED_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
  }
  OUTPUTS = {
      executor.WINDOW_KEY: ChannelParameter(type=SpanWindow),
      executor.WINDOW_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
  }


class SpanWindowComponent(base_component.BaseComponent):
  """The new span's examples and embedded examples -> the window's manifest and examples;
  the window is published to `window_dir` for the next run."""

  SPEC_CLASS = SpanWindowSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, embedded_examples: types.BaseChannel,
               window_dir: str, num_spans: int):
    """`num_spans`: the newest spans the window keeps; 0: all."""
    super().__init__(spec=SpanWindowSpec(
        examples=examples, embedded_examples=embedded_examples, window_dir=window_dir,
        num_spans=num_spans, window=types.Channel(type=SpanWindow),
        window_examples=types.Channel(type=standard_artifacts.Examples)))
