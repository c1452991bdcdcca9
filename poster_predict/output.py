"""Formats predictions for people (one line per poster) and for machines (one JSON document)."""
import json
from typing import Any, Dict, Optional, Sequence, Union

from poster_predict import posters as poster_files
from poster_predict import prediction

# Marks, in --top-k text output, the genres that the model's decision rule chose.
PREDICTED_MARK = '*'


def shown_genres(result: prediction.PosterPrediction,
                 top_k: Optional[int]) -> Sequence[prediction.GenreScore]:
  """The model's predicted genres, or with `top_k` the k most probable ones."""
  return result.top(top_k) if top_k else result.genres


def text_line(result: Union[prediction.PosterPrediction, poster_files.Problem],
              top_k: Optional[int]) -> str:
  if isinstance(result, poster_files.Problem):
    return f'{result.source}: ERROR {result.message}'
  cells = [f'{score.genre} {score.probability:.2f}'
           + (PREDICTED_MARK if top_k and score.predicted else '')
           for score in shown_genres(result, top_k)]
  return f'{result.source}: {", ".join(cells)}'


def json_document(results: Sequence[Union[prediction.PosterPrediction, poster_files.Problem]],
                  backend: str, top_k: Optional[int]) -> Dict[str, Any]:
  """{"model", "predictions": [{"file", "genres": [{"genre", "probability", "predicted"}]}],
  "errors": [{"file", "error"}]}: every input file appears exactly once."""
  return {
      'model': backend,
      'predictions': [
          {'file': result.source,
           'genres': [{'genre': score.genre, 'probability': round(score.probability, 6),
                       'predicted': score.predicted}
                      for score in shown_genres(result, top_k)]}
          for result in results if isinstance(result, prediction.PosterPrediction)],
      'errors': [{'file': result.source, 'error': result.message}
                 for result in results if isinstance(result, poster_files.Problem)],
  }


def dumps(document: Dict[str, Any]) -> str:
  return json.dumps(document, indent=2)
