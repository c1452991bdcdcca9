"""The model's most confident mistakes on a split, as small inline thumbnails.

A false positive is "most confident" when its score is highest among the posters the model
wrongly tagged with the genre; a false negative when its score is lowest among the posters of
the genre the model missed. The posters themselves are what a reviewer needs to see why.
"""
import base64
import dataclasses
import io
from typing import List, Sequence

import numpy as np
from PIL import Image

# Thumbnails are small JPEGs embedded as data: URIs, a few KB each.
THUMBNAIL_HEIGHT = 120
THUMBNAIL_QUALITY = 70


@dataclasses.dataclass(frozen=True)
class Mistake:
  poster_id: str
  score: float
  true_genres: List[str]
  predicted_genres: List[str]
  thumbnail: str  # data: URI


@dataclasses.dataclass(frozen=True)
class GenreMistakes:
  genre: str
  false_positives: List[Mistake]
  false_negatives: List[Mistake]


def thumbnail_data_uri(image: bytes, height: int = THUMBNAIL_HEIGHT) -> str:
  with Image.open(io.BytesIO(image)) as poster:
    poster = poster.convert('RGB')
    poster.thumbnail((height * 4, height))
    buffer = io.BytesIO()
    poster.save(buffer, format='JPEG', quality=THUMBNAIL_QUALITY, optimize=True)
  return 'data:image/jpeg;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def most_confident_mistakes(genre: str, genres: Sequence[str], ids: Sequence[str],
                            images: Sequence[bytes], labels: np.ndarray, scores: np.ndarray,
                            predicted: np.ndarray, per_kind: int) -> GenreMistakes:
  g = list(genres).index(genre)
  false_positive = np.flatnonzero((predicted[:, g] == 1) & (labels[:, g] == 0))
  false_negative = np.flatnonzero((predicted[:, g] == 0) & (labels[:, g] == 1))
  # Stable sorts: equal scores keep file order, so the report is deterministic.
  worst_positives = false_positive[np.argsort(-scores[false_positive, g], kind='stable')]
  worst_negatives = false_negative[np.argsort(scores[false_negative, g], kind='stable')]

  def mistake(i: int) -> Mistake:
    return Mistake(
        poster_id=ids[i], score=float(scores[i, g]),
        true_genres=[name for name, on in zip(genres, labels[i]) if on],
        predicted_genres=[name for name, on in zip(genres, predicted[i]) if on],
        thumbnail=thumbnail_data_uri(images[i]))

  return GenreMistakes(genre=genre,
                       false_positives=[mistake(i) for i in worst_positives[:per_kind]],
                       false_negatives=[mistake(i) for i in worst_negatives[:per_kind]])
