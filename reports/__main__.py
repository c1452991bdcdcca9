"""Renders a slice report from the command line and prints its path.

    python -m reports <pipeline_root | evaluation_uri> [--output DIR] [--examples URI]
                      [--split SPLIT] [--gate-evaluation URI]

Given a pipeline root, reports its newest test evaluation (TestEvaluator), with the gate
decision of the gating Evaluator that judged the same model (see reports/locate.py).
"""
import argparse
import os

from pipeline import runtime_env

runtime_env.require_legacy_keras()

from components.slice_report import build  # pylint: disable=g-import-not-at-top
from reports import locate  # pylint: disable=g-import-not-at-top


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('path', help='A pipeline root or an Evaluator output directory.')
  parser.add_argument('--output', default=os.path.join(os.getcwd(), 'slice_report'),
                      help='Directory to write report.html into (default: ./slice_report).')
  parser.add_argument('--examples', help='PosterExampleGen output the evaluation ran on.')
  parser.add_argument('--split', help='Split evaluated (default: test, or eval for the gating '
                      'Evaluator).')
  parser.add_argument('--gate-evaluation', help='Gating Evaluator output (push decision).')
  args = parser.parse_args()
  inputs = locate.resolve(args.path, examples_uri=args.examples, split=args.split,
                          gate_uri=args.gate_evaluation)
  data = build.gather(inputs.evaluation_uri, [inputs.examples_uri], split=inputs.split,
                      gate_uri=inputs.gate_uri)
  print(build.write_report(data, args.output))


if __name__ == '__main__':
  main()
