"""Renders a slice report from the command line and prints its path.

    python -m reports <pipeline_root | evaluation_uri> [--output DIR]
                      [--metadata-path FILE | --metadata-grpc HOST:PORT]
                      [--examples URI ...] [--split SPLIT] [--gate-evaluation URI]

Given a pipeline root, reports its newest test evaluation (TestEvaluator), with the gate
decision of the gating Evaluator that judged the same model. The examples, the split and the
gate come from ML Metadata (reports/locate.py): by default the local runner's store for that
pipeline root, `<output dir>/metadata/<pipeline name>/metadata.db`.
"""
import argparse
import os
import sys

from pipeline import runtime_env

runtime_env.require_legacy_keras()

from ml_metadata import metadata_store  # pylint: disable=g-import-not-at-top

from components.slice_report import build  # pylint: disable=g-import-not-at-top
from components.slice_report import evaluation  # pylint: disable=g-import-not-at-top
from reports import locate  # pylint: disable=g-import-not-at-top


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('path', help='A pipeline root or an Evaluator\'s evaluation.')
  parser.add_argument('--output', default=os.path.join(os.getcwd(), 'slice_report'),
                      help='Directory to write report.html into (default: ./slice_report).')
  store = parser.add_mutually_exclusive_group()
  store.add_argument('--metadata-path', help='The local runner\'s ML Metadata file (default: '
                     'the one a default run keeps beside the pipeline root).')
  store.add_argument('--metadata-grpc', help='An ML Metadata gRPC service, HOST:PORT (Kubeflow '
                     'Pipelines: kubectl port-forward svc/metadata-grpc-service 8080:8080).')
  parser.add_argument('--examples', action='append',
                      help='Examples the evaluation ran on (repeat for a window of spans).')
  parser.add_argument('--split', help='Split evaluated (default: what the Evaluator recorded).')
  parser.add_argument('--gate-evaluation', help='Gating Evaluator output (push decision).')
  args = parser.parse_args()
  try:
    if args.metadata_grpc:
      connection = locate.connection_config(metadata_grpc=args.metadata_grpc)
    else:
      connection = locate.connection_config(metadata_path=(
          args.metadata_path or locate.default_metadata_path(_pipeline_root(args.path))))
    inputs = locate.resolve(metadata_store.MetadataStore(connection), args.path,
                            examples_uris=args.examples, split=args.split,
                            gate_uri=args.gate_evaluation)
  except locate.LocateError as error:
    sys.exit(f'python -m reports: {error}')
  data = build.gather(inputs.evaluation_uri, inputs.examples_uris, split=inputs.split,
                      gate_uri=inputs.gate_uri)
  print(build.write_report(data, args.output))


def _pipeline_root(path: str) -> str:
  """The pipeline root of `path`: itself, or the root above an evaluation
  (`<root>/<node>/evaluation/<id>`, TFX's local layout) to find the default store."""
  path = os.path.normpath(path)
  if os.path.isfile(os.path.join(path, evaluation.EVAL_CONFIG_FILE)):
    return os.path.dirname(os.path.dirname(os.path.dirname(path)))
  return path


if __name__ == '__main__':
  main()
