"""Backend that asks a TF Serving model server over its REST API.

Request (row format; TF Serving decodes each {"b64": ...} into the raw bytes of one poster
of the `image_bytes` batch):

    POST <server>/v1/models/<name>[/versions/<version>]:predict
    {"signature_name": "serving_default", "instances": [{"b64": "<base64 poster>"}, ...]}

Answer: {"predictions": [{"scores": [...], "classes": [...], "predicted": [...],
"status": "ok"}, ...]}, one object per poster; on failure, a non-200 status with
{"error": "<message>"}.
"""
import base64
from typing import Any, Dict, List, Optional, Sequence
import urllib.parse

import requests

from contract import serving as serving_contract
from poster_predict import prediction


def server_url(address: str) -> str:
  """A REST address as given (`host:port` or `http(s)://host:port`) -> its base URL."""
  url = address if '://' in address else f'http://{address}'
  parsed = urllib.parse.urlsplit(url)
  if parsed.scheme not in ('http', 'https') or not parsed.hostname:
    raise ValueError(f'{address!r} is not a REST address: give host:port, e.g. '
                     'localhost:8501, or http(s)://host:port')
  return url.rstrip('/')


def predict_url(server: str, model_name: str, version: Optional[int] = None) -> str:
  base = f'{server_url(server)}/v1/models/{model_name}'
  return f'{base}/versions/{version}:predict' if version is not None else f'{base}:predict'


def request_body(batch: Sequence[bytes]) -> Dict[str, Any]:
  return {'signature_name': serving_contract.SERVING_SIGNATURE,
          'instances': [{'b64': base64.b64encode(poster).decode('ascii')} for poster in batch]}


def parse_predictions(answer: Dict[str, Any]) -> List[prediction.ModelOutput]:
  try:
    return [prediction.ModelOutput(
        scores=tuple(float(score) for score in row[serving_contract.SCORES]),
        classes=tuple(row[serving_contract.CLASSES]),
        predicted=tuple(int(decision) for decision in row[serving_contract.PREDICTED]),
        # Models exported before the status output answer without it.
        status=str(row.get(serving_contract.STATUS, serving_contract.OK)))
            for row in answer['predictions']]
  except (KeyError, TypeError, ValueError) as error:
    raise prediction.BackendError(
        f'The server answered outside the serving contract ({error!r}): '
        f'{str(answer)[:300]}') from error


class RestClient:
  """prediction.Backend over TF Serving's REST predict API."""

  def __init__(self, server: str, model_name: str, version: Optional[int] = None,
               timeout_seconds: float = 30.0):
    self.url = predict_url(server, model_name, version)
    self.description = f'TF Serving {self.url}'
    self._timeout = timeout_seconds
    self._session = requests.Session()

  def predict(self, batch: Sequence[bytes]) -> List[prediction.ModelOutput]:
    try:
      response = self._session.post(self.url, json=request_body(batch), timeout=self._timeout)
    except requests.RequestException as error:
      raise prediction.BackendError(f'Cannot reach {self.url}: {error}') from error
    try:
      answer = response.json()
    except ValueError:
      answer = {'error': response.text[:300]}
    if response.status_code == 400:
      # TF Serving's answer to a request it cannot run, e.g. an undecodable poster.
      raise prediction.PredictionError(answer.get('error', response.text[:300]))
    if response.status_code != 200:
      raise prediction.BackendError(
          f'{self.url} answered HTTP {response.status_code}: '
          f'{answer.get("error", response.text[:300])}')
    return parse_predictions(answer)
