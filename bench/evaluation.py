"""What the Evaluators cost, per poster, on a finished run's artifacts.

    .venv/bin/python bench/evaluation.py --output-dir tfx_pipeline_output \
        --serving-model-dir DIR [--label NAME] [--splits test eval] [--results FILE]

Runs the pipeline's own GenreEvaluator executor (components/evaluator/executor.py, TFX's
Evaluator and TFMA underneath) in this process, outside the pipeline, on the examples the
gating Evaluator read (those with stored embeddings where the run embedded them; else
PosterExampleGen's) and the Trainer's model of the newest run in `<output dir>`'s ML
Metadata, with the served model of `--serving-model-dir` as the baseline, exactly as the two
Evaluators run:
  - the gating Evaluator: `eval`, the push gate's criteria, the overall slice only;
  - the TestEvaluator: `test` (or any split: `train` stands in for a bigger eval set), every
    slice and plot, no gate.
Each evaluation is timed on its own (wall seconds of the executor's Do, Beam's in-memory
runner as in the pipeline). Results accumulate in `--results` under `--label` (the commit
by default), so the same command run in checkouts of two commits compares them on one
machine; the table of every label is printed and, with --benchmarks, written into
BENCHMARKS.md between the markers below. The script uses only the executor's interface that
commit d16bcaf already had, so it can be copied into a checkout of it (with bench/lib.py).
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from tfx.dsl.components.base import base_beam_executor  # pylint: disable=g-import-not-at-top
from tfx.types import standard_artifacts  # pylint: disable=g-import-not-at-top

from components.evaluator import executor as genre_evaluator  # pylint: disable=g-import-not-at-top
from contract import nodes  # pylint: disable=g-import-not-at-top
from models import data  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

BEGIN_MARKER, END_MARKER = lib.markers('evaluation.py')
SPLITS = lib.SPLITS


def _parse_args() -> argparse.Namespace:
  parser = lib.parser(__doc__)
  parser.add_argument('--output-dir', required=True,
                      help='A finished run\'s output dir (local_runner.py --output-dir).')
  parser.add_argument('--serving-model-dir', required=True,
                      help='The serving directory whose newest version is the baseline.')
  parser.add_argument('--label', default=None, help='Row name (default: the commit).')
  parser.add_argument('--splits', nargs='+', default=['test', 'eval'],
                      help='Reporting splits to time (the gating one is always eval).')
  parser.add_argument('--results', default=os.path.join(tempfile.gettempdir(),
                                                        'evaluation_bench.json'))
  lib.add_benchmarks(parser, default='')
  return parser.parse_args()


def _artifacts(output_dir: str):
  """(the gating Evaluator's Examples, one per span of its window; the Trainer's Model)."""
  runs = lib.latest_runs(configs.PipelineConfig.of(output_dir=output_dir).metadata_path)
  uris = (runs[nodes.EVALUATOR].input_uris.get(nodes.EXAMPLES)
          or [lib.examples_uri(runs)])
  examples = []
  for uri in uris:
    artifact = standard_artifacts.Examples()
    artifact.uri = uri
    artifact.split_names = json.dumps(list(SPLITS))
    examples.append(artifact)
  model = standard_artifacts.Model()
  model.uri = runs[nodes.TRAINER].output_uris[nodes.MODEL][0]
  return examples, model


def _records(examples, split: str) -> int:
  files = data.matching_files([os.path.join(e.uri, f'Split-{split}', '*') for e in examples])
  return sum(1 for _ in data.records(files))


def make_executor(tmp_dir: str) -> genre_evaluator.Executor:
  """The GenreEvaluator executor with the pipeline's own Beam arguments
  (`PipelineConfig.beam_pipeline_args`): any other, given without a setup file, makes TFX
  build an sdist of itself into a new temporary directory (about 50 MB, and seconds) for
  every executor it makes."""
  return genre_evaluator.Executor(base_beam_executor.BaseBeamExecutor.Context(
      beam_pipeline_args=configs.PipelineConfig().beam_pipeline_args, tmp_dir=tmp_dir,
      unique_id='bench'))


def evaluate(examples, model, split: str, serving_model_dir: str, gate: bool) -> float:
  """Wall seconds of one GenreEvaluator execution."""
  with tempfile.TemporaryDirectory() as work:
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = os.path.join(work, 'evaluation')
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = os.path.join(work, 'blessing')
    properties = {
        'example_splits': json.dumps([split]),
        genre_evaluator.GATE_KEY: (json.dumps(configs.PipelineConfig().gate.__dict__)
                                   if gate else None),
        genre_evaluator.SLICED_KEY: int(not gate),
        genre_evaluator.SERVING_MODEL_DIR_KEY: serving_model_dir,
        'fairness_indicator_thresholds': 'null',
    }
    executor = make_executor(os.path.join(work, 'tmp'))
    started = time.monotonic()
    executor.Do({'examples': examples, 'model': [model]},
                {'evaluation': [evaluation], 'blessing': [blessing]}, properties)
    return time.monotonic() - started


def render(results: dict) -> str:
  lines = [BEGIN_MARKER, '', '## Evaluation cost (bench/evaluation.py)', '',
           'Generated by the commands below; do not edit by hand. Each row: the pipeline\'s '
           'GenreEvaluator executor on one finished default run\'s examples and model, with '
           'its served model as the baseline (two models evaluated), timed alone.', '']
  for label, row in results.items():
    lines.append(f"- `{label}`: `{row['command']}` on {row['machine']}, commit "
                 f"{row['commit']}, {row['date']}.")
  lines += ['', '| label | evaluation | posters | seconds | ms per poster |',
            '| --- | --- | --- | --- | --- |']
  for label, row in results.items():
    for name, timing in row['timings'].items():
      lines.append(f"| {label} | {name} | {timing['posters']} | {timing['seconds']:.1f} | "
                   f"{1000 * timing['seconds'] / timing['posters']:.0f} |")
  return '\n'.join(lines + ['', END_MARKER])


def main() -> None:
  args = _parse_args()
  examples, model = _artifacts(args.output_dir)
  timings = {}
  plan = [('gating Evaluator (eval, overall slice, gate)', 'eval', True)] + [
      (f'reporting ({split}, every slice and plot)', split, False) for split in args.splits]
  for name, split, gate in plan:
    posters = _records(examples, split)
    seconds = evaluate(examples, model, split, args.serving_model_dir, gate)
    timings[name] = {'posters': posters, 'seconds': round(seconds, 1)}
    print(f'{name}: {posters} posters in {seconds:.1f} s', flush=True)
  results = {}
  if os.path.exists(args.results):
    with open(args.results) as f:
      results = json.load(f)
  made = lib.provenance()
  results[args.label or made['commit']] = {**made, 'timings': timings}
  with open(args.results, 'w') as f:
    json.dump(results, f, indent=2)
  lib.publish(render(results), args.benchmarks, BEGIN_MARKER, END_MARKER)


if __name__ == '__main__':
  main()
