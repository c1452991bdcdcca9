"""PosterEmbedder: every poster embedded once by the frozen backbone, for the whole run.

    examples (train, eval, test) + Transform graph --backbone--> the same examples with their
    embedding entries (models/embeddings.py), as an Examples artifact of the same span

Everything after it reads its output: the Trainer trains its head on the train and eval
embeddings, and both Evaluators score the candidate and the served model on the stored
embeddings through the head alone (models/export.py, `embedding_tf_example`), so a poster
meets the backbone once per run rather than once per model and evaluation. With spans on it
runs on the span PosterExampleGen has just ingested, and only then (a run with no new span
finds it cached): the window is made of its outputs, so a poster meets the backbone once in
its life. The output carries the span and version of its input.
"""
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ComponentSpec
from tfx.types.component_spec import ExecutionParameter

from components.embedder import executor
from models import settings


class PosterEmbedderSpec(ComponentSpec):
  PARAMETERS = {executor.MODEL_NAME_KEY: ExecutionParameter(type=str),
                executor.BATCH_SIZE_KEY: ExecutionParameter(type=int)}
  INPUTS = {
      executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
      executor.TRANSFORM_GRAPH_KEY: ChannelParameter(type=standard_artifacts.TransformGraph),
  }
  OUTPUTS = {
      executor.EMBEDDED_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
  }


class PosterEmbedder(base_component.BaseComponent):
  """Examples -> the same splits with each poster's embedding.

  Outputs `embedded_examples`: the input's splits, the genre vocabulary, and
  `embedding_summary.json` (posters embedded and backbone passes per split).
  """

  SPEC_CLASS = PosterEmbedderSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
               trainer: settings.TrainerConfig):
    """`trainer`: the Trainer's settings, whose backbone to embed with. Only what the
    embeddings depend on becomes a parameter, so that a retrain with other head settings
    (a seed, a loss) finds the embeddings in the cache."""
    super().__init__(spec=PosterEmbedderSpec(
        examples=examples, transform_graph=transform_graph,
        model_name=trainer.model_name, batch_size=trainer.batch_size,
        embedded_examples=types.Channel(type=standard_artifacts.Examples)))
