"""Batches posters through a backend and turns model outputs into per-poster genres.

A backend (local_model.LocalModel, rest_client.RestClient) maps a batch of poster bytes to
the serving signature's outputs, one `ModelOutput` per poster. The model answers every
poster on its own, with a status for the ones it cannot read (contract/serving.py);
a model exported before it did so fails a batch with a bad poster instead, so a failed batch
is retried one poster at a time and one poster the model rejects still costs only itself.
"""
import dataclasses
from typing import Callable, Iterator, List, Protocol, Sequence, Tuple, Union

from contract import serving as serving_contract
from poster_predict import posters as poster_files


class PredictionError(Exception):
  """The backend rejected a request (e.g. an undecodable poster); other requests may pass."""


class BackendError(Exception):
  """The backend cannot serve this run (unreachable, or answering outside the serving
  contract): no point in trying further posters."""


@dataclasses.dataclass(frozen=True)
class ModelOutput:
  """One poster's row of the serving signature's outputs."""
  scores: Tuple[float, ...]
  classes: Tuple[str, ...]
  predicted: Tuple[int, ...]
  status: str = serving_contract.OK  # Models exported before the status output read as ok.


class Backend(Protocol):
  description: str

  def predict(self, batch: Sequence[bytes]) -> List[ModelOutput]:
    ...


@dataclasses.dataclass(frozen=True)
class GenreScore:
  genre: str
  probability: float
  predicted: bool  # Chosen by the model's decision rule (eval-tuned thresholds).


@dataclasses.dataclass(frozen=True)
class PosterPrediction:
  source: str
  ranked: Tuple[GenreScore, ...]  # Every genre, most probable first.

  @property
  def genres(self) -> Tuple[GenreScore, ...]:
    """The genres the model predicts, most probable first."""
    return tuple(score for score in self.ranked if score.predicted)

  def top(self, k: int) -> Tuple[GenreScore, ...]:
    return self.ranked[:k]


Result = Union[PosterPrediction, poster_files.Problem]


def to_result(source: str, output: ModelOutput) -> Result:
  """The poster's genres, or a Problem naming why the model could not read it."""
  if output.status != serving_contract.OK:
    message = serving_contract.STATUS_MESSAGES.get(output.status, 'unknown status')
    return poster_files.Problem(source, f'{output.status}: {message}')
  if not len(output.scores) == len(output.classes) == len(output.predicted):
    raise BackendError(
        f'{source}: the model answered {len(output.scores)} scores, {len(output.classes)} '
        f'classes and {len(output.predicted)} decisions.')
  ranked = sorted(zip(output.classes, output.scores, output.predicted), key=lambda x: -x[1])
  return PosterPrediction(source, tuple(
      GenreScore(genre, float(score), bool(decision)) for genre, score, decision in ranked))


def predict_posters(backend: Backend,
                    batch: Sequence[poster_files.Poster]) -> List[Result]:
  """One result per poster; if the backend rejects the batch, each poster is tried alone."""
  try:
    outputs = backend.predict([poster.data for poster in batch])
  except PredictionError as error:
    if len(batch) == 1:
      return [poster_files.Problem(batch[0].source, f'the model rejected it: {error}')]
    return [result for poster in batch for result in predict_posters(backend, [poster])]
  if len(outputs) != len(batch):
    raise BackendError(f'{len(batch)} posters sent, {len(outputs)} answers received.')
  return [to_result(poster.source, output) for poster, output in zip(batch, outputs)]


def predict_files(backend: Backend, paths: Sequence[str], batch_size: int,
                  on_done: Callable[[int], None] = lambda n: None) -> Iterator[Result]:
  """Reads and predicts each file; yields one result per file, in order.

  `on_done(n)` is called as each group of n files is finished (progress reporting).
  Unreadable files and posters the model rejects are yielded as Problems; only a
  BackendError (unreachable backend, broken contract) stops the run.
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be at least 1, got {batch_size}')
  pending: List[Union[poster_files.Poster, poster_files.Problem]] = []

  def flush() -> Iterator[Result]:
    batch = [item for item in pending if isinstance(item, poster_files.Poster)]
    answers = iter(predict_posters(backend, batch) if batch else [])
    for item in pending:
      yield next(answers) if isinstance(item, poster_files.Poster) else item
    on_done(len(pending))
    pending.clear()

  for path in paths:
    pending.append(poster_files.read_poster(path))
    if sum(isinstance(item, poster_files.Poster) for item in pending) == batch_size:
      yield from flush()
  if pending:
    yield from flush()
