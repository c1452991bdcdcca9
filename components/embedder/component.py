"""PosterEmbedder: each span's posters embedded once by the frozen backbone, for every later run.

    examples of the new span (train, eval) + Transform graph --backbone--> the same examples
    with their embedding entries (models/embeddings.py), as an Examples artifact of that span

With spans on, it runs on the span PosterExampleGen has just ingested, and only then: a run
with no new span finds it cached. The Trainer trains on the window of its outputs, so each
poster passes through the backbone once in its life, not once per run. The output carries
the span and version of its input, so that the window is resolved from ML Metadata the same
way as the window of raw examples.
"""
import json

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.embedder import executor
from models import config as settings


class PosterEmbedderSpec(ComponentSpec):
  PARAMETERS = {executor.TRAINER_CONFIG_KEY: ExecutionParameter(type=str)}
  INPUTS = {
      executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
      executor.TRANSFORM_GRAPH_KEY: ChannelParameter(type=standard_artifacts.TransformGraph),
  }
  OUTPUTS = {
      executor.EMBEDDED_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
  }


class PosterEmbedder(base_component.BaseComponent):
  """Examples of one span -> the train and eval splits with each poster's embedding.

  Outputs `embedded_examples`: splits `train` and `eval`, the genre vocabulary, and
  `embedding_summary.json` (posters embedded and backbone passes per split).
  """

  SPEC_CLASS = PosterEmbedderSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
               trainer: settings.TrainerConfig):
    """`trainer`: the Trainer's settings, whose backbone, input and mirror views to embed."""
    super().__init__(spec=PosterEmbedderSpec(
        examples=examples, transform_graph=transform_graph,
        trainer_config=json.dumps(settings.as_custom_config(trainer), sort_keys=True),
        embedded_examples=types.Channel(type=standard_artifacts.Examples)))
