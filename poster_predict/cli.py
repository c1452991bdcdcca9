"""postergenre-predict: tags poster files with genres.

    postergenre-predict poster.jpg more.png some_dir/            # newest pushed SavedModel
    postergenre-predict --model path/to/saved_model posters/      # a given SavedModel
    postergenre-predict --server localhost:8501 posters/          # a TF Serving model server
    postergenre-predict --json --top-k 5 posters/

Without --model or --server, the model is the newest version in $POSTER_SERVING_MODEL_DIR,
else in tfx_pipeline_output/serving_model/poster-genres under the current directory (where
a default pipeline run from this directory pushes it).

Prints, per poster, the genres the model predicts (its eval-tuned decision rule) with their
probabilities; `--top-k K` prints the K most probable genres instead, marking the predicted
ones with `*`. Unreadable or rejected files are reported (stderr, or "errors" in --json) and
the run goes on. Exit status: 0 when every file was tagged, 1 when some could not be, 2 when
nothing could be tried (bad arguments, model or server unavailable).
"""
import argparse
import os
import sys
from typing import List, Optional, Tuple

import tqdm

from pipeline import configs
from poster_predict import output
from poster_predict import posters as poster_files
from poster_predict import prediction
from poster_predict import rest_client

# TF Serving's batching (serving/batching_parameters.txt) takes at most this many per request.
DEFAULT_BATCH_SIZE = 32
_PIPELINE_DEFAULTS = configs.PipelineConfig()
# Where a default pipeline run pushes models, relative to the directory it runs from.
_DEFAULT_SERVING_DIR = os.path.relpath(_PIPELINE_DEFAULTS.serving_model_dir, configs.REPO_ROOT)


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(prog='postergenre-predict', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('paths', nargs='+', help='Poster files (JPEG/PNG) and directories.')
  where = parser.add_mutually_exclusive_group()
  where.add_argument(
      '--model', help='SavedModel directory, or a directory of numbered versions (the newest '
      'is used). Default: $POSTER_SERVING_MODEL_DIR, else '
      f'{_DEFAULT_SERVING_DIR} under the current directory.')
  where.add_argument('--server', help='TF Serving REST address: host:port (e.g. '
                     'localhost:8501) or http(s)://host:port.')
  parser.add_argument('--model-name', default=_PIPELINE_DEFAULTS.pipeline_name,
                      help='Model name on the server (default: %(default)s).')
  parser.add_argument('--model-version', type=int,
                      help='Model version on the server (default: the server\'s choice).')
  parser.add_argument('--timeout', type=float, default=30.0,
                      help='Seconds to wait for each server answer (default: %(default)s).')
  parser.add_argument('--batch-size', type=int, default=DEFAULT_BATCH_SIZE,
                      help='Posters per request (default: %(default)s).')
  parser.add_argument('--top-k', type=int,
                      help='Show the K most probable genres instead of the predicted ones.')
  parser.add_argument('--json', action='store_true', help='One JSON document on stdout.')
  args = parser.parse_args(argv)
  if args.batch_size < 1:
    parser.error('--batch-size must be at least 1')
  if args.top_k is not None and args.top_k < 1:
    parser.error('--top-k must be at least 1')
  if args.server:
    try:
      rest_client.server_url(args.server)
    except ValueError as error:
      parser.error(f'--server: {error}')
  return args


def default_model_dir() -> Tuple[str, str]:
  """(directory, where that choice came from) of the model used without --model/--server.

  Relative to the current directory, not to this package: installed, the package lives in
  site-packages, far from any pipeline output.
  """
  if os.environ.get('POSTER_SERVING_MODEL_DIR'):
    return os.environ['POSTER_SERVING_MODEL_DIR'], '$POSTER_SERVING_MODEL_DIR'
  return (os.path.join(os.getcwd(), _DEFAULT_SERVING_DIR),
          'the default serving directory under the current directory')


def _backend(args: argparse.Namespace) -> prediction.Backend:
  if args.server:
    return rest_client.RestClient(args.server, args.model_name, args.model_version,
                                  args.timeout)
  # Imported only here: it loads TensorFlow, which talking to a server does not need.
  from poster_predict import local_model  # pylint: disable=g-import-not-at-top
  if args.model:
    return local_model.LocalModel(args.model)
  model_dir, origin = default_model_dir()
  try:
    return local_model.LocalModel(model_dir)
  except FileNotFoundError as error:
    raise FileNotFoundError(
        f'looked for the newest pushed model in {model_dir} ({origin}): {error}. Run the '
        'pipeline from this directory, set POSTER_SERVING_MODEL_DIR, or pass --model DIR or '
        '--server HOST:PORT.') from error


def main(argv: Optional[List[str]] = None) -> int:
  args = _parse_args(argv)
  files, problems = poster_files.find_poster_files(args.paths)
  for problem in problems:
    print(output.text_line(problem, args.top_k), file=sys.stderr)
  if not files:
    print('No poster files to tag.', file=sys.stderr)
    return 2
  try:
    backend = _backend(args)
  except (OSError, ValueError) as error:
    print(f'Cannot load the model: {error}', file=sys.stderr)
    return 2

  results = []
  # A bar only when directories were given; it hides itself when stderr is not a terminal.
  with tqdm.tqdm(total=len(files), unit='poster', file=sys.stderr,
                 disable=None if any(map(os.path.isdir, args.paths)) else True) as bar:
    try:
      for result in prediction.predict_files(backend, files, args.batch_size, bar.update):
        results.append(result)
        if not args.json:
          failed = isinstance(result, poster_files.Problem)
          bar.write(output.text_line(result, args.top_k),
                    file=sys.stderr if failed else sys.stdout)
    except prediction.BackendError as error:
      bar.close()
      print(f'Stopped after {len(results)} of {len(files)} files: {error}', file=sys.stderr)
      return 2

  failures = problems + [r for r in results if isinstance(r, poster_files.Problem)]
  if args.json:
    print(output.dumps(output.json_document(problems + results, backend.description,
                                            args.top_k)))
  tagged = sum(isinstance(r, prediction.PosterPrediction) for r in results)
  print(f'{tagged} posters tagged with {backend.description}; {len(failures)} could not be.',
        file=sys.stderr)
  return 1 if failures else 0


def run() -> None:
  """Console-script entry point."""
  sys.exit(main())


if __name__ == '__main__':
  run()
