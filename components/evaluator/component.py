"""GenreEvaluator: TFX's Evaluator (TFMA) on this run's genres, against the served model.

The TFMA config has one metric spec per genre and one per gate-judged genre, so it depends
on the genre vocabulary, which PosterExampleGen decides when it runs. The executor builds
the config then (components/evaluator/executor.py); the pipeline passes only the gate's
criteria. The outputs are the Evaluator's own (`evaluation`, `blessing`), so the Pusher and
TFMA's tools read them as they read any Evaluator's.
"""
import dataclasses
import json
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.types.component_spec import ExecutionParameter

from components.evaluator import executor
from components.evaluator.gate_config import GateConfig


class GenreEvaluatorSpec(specs.EvaluatorSpec):
  PARAMETERS = {
      **specs.EvaluatorSpec.PARAMETERS,
      executor.GATE_KEY: ExecutionParameter(type=str, optional=True),
      executor.SLICED_KEY: ExecutionParameter(type=int),
      executor.SERVING_MODEL_DIR_KEY: ExecutionParameter(type=str, optional=True),
  }


class GenreEvaluator(base_beam_component.BaseBeamComponent):
  """Examples + model -> TFMA evaluation and, with `gate`, a blessing vs the served model."""

  SPEC_CLASS = GenreEvaluatorSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, model: types.BaseChannel, split: str,
               serving_model_dir: str, gate: Optional[GateConfig] = None,
               sliced: bool = True):
    """Args:
      examples: PosterExampleGen examples; `split` of them is evaluated.
      model: the candidate (Trainer output).
      serving_model_dir: where the Pusher pushes; its served version is the baseline.
      gate: the push gate's criteria; without, the blessing gates nothing (reporting).
      sliced: every slice and the plots; without, the overall slice only (all the gate
        needs: slices and plots cost most of an evaluation's time).
    """
    super().__init__(spec=GenreEvaluatorSpec(
        examples=examples, model=model, example_splits=json.dumps([split]),
        gate=json.dumps(dataclasses.asdict(gate)) if gate is not None else None,
        sliced=int(sliced), serving_model_dir=serving_model_dir,
        evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
        blessing=types.Channel(type=standard_artifacts.ModelBlessing)))
