"""TF Serving's REST predict API in front of a real SavedModel, on loopback, for tests.

`tensorflow_model_server` cannot be installed here, so this decodes request bodies the way
its REST handler does (tensorflow_serving/util/json_tensor.cc) — row format `instances` or
columnar `inputs`, `{"b64": ...}` for binary strings, a bare value when the signature has
one input — calls the SavedModel's signature with the decoded batch, and answers in the
matching format (`predictions` / `outputs`, or HTTP 400 with `{"error": ...}`). Tests that
pass through it prove that a body is one TF Serving would accept for the signature.
"""
import base64
import contextlib
import http.server
import json
import re
import threading
from typing import Any, Dict, Iterator

import numpy as np
import tensorflow as tf

_PREDICT_PATH = re.compile(r'^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$')


def _decode_value(value: Any) -> Any:
  """Replaces every {"b64": ...} object in a JSON value by the bytes it encodes."""
  if isinstance(value, dict):
    if set(value) != {'b64'}:
      raise ValueError(f'JSON object where a tensor value was expected: {value}')
    return base64.b64decode(value['b64'], validate=True)
  if isinstance(value, list):
    return [_decode_value(item) for item in value]
  return value


def _is_named_inputs(value: Any) -> bool:
  return isinstance(value, dict) and set(value) != {'b64'}


def signature_inputs(body: Dict[str, Any], signature) -> Dict[str, tf.Tensor]:
  """A REST predict body -> the signature's keyword arguments, as TF Serving builds them."""
  specs = signature.structured_input_signature[1]
  if ('instances' in body) == ('inputs' in body):
    raise ValueError('The body must have exactly one of "instances" and "inputs".')
  if 'instances' in body:
    rows = body['instances']
    if not isinstance(rows, list) or not rows:
      raise ValueError('"instances" must be a non-empty list.')
    if all(_is_named_inputs(row) for row in rows):
      columns = {name: [_decode_value(row[name]) for row in rows] for name in specs}
    elif len(specs) == 1:
      columns = {next(iter(specs)): [_decode_value(row) for row in rows]}
    else:
      raise ValueError(f'Each instance must name the inputs {sorted(specs)}.')
  else:
    inputs = body['inputs']
    if _is_named_inputs(inputs):
      columns = {name: _decode_value(inputs[name]) for name in specs}
    elif len(specs) == 1:
      columns = {next(iter(specs)): _decode_value(inputs)}
    else:
      raise ValueError(f'"inputs" must name the inputs {sorted(specs)}.')
  return {name: tf.constant(values, dtype=specs[name].dtype)
          for name, values in columns.items()}


def _json_value(array: np.ndarray) -> Any:
  if array.dtype.kind in ('S', 'O'):
    return np.vectorize(lambda item: item.decode('utf-8'), otypes=[object])(array).tolist()
  return array.tolist()


def rest_answer(body: Dict[str, Any], outputs: Dict[str, tf.Tensor]) -> Dict[str, Any]:
  """The signature's outputs in the body's format: row `predictions` or columnar `outputs`."""
  values = {name: _json_value(tensor.numpy()) for name, tensor in outputs.items()}
  if 'inputs' in body:
    return {'outputs': values}
  batch = len(next(iter(values.values())))
  return {'predictions': [{name: value[i] for name, value in values.items()}
                          for i in range(batch)]}


@contextlib.contextmanager
def serve(model_dir: str, model_name: str) -> Iterator[str]:
  """Serves `model_dir` as `model_name` on 127.0.0.1; yields the base URL."""
  loaded = tf.saved_model.load(model_dir)

  class Handler(http.server.BaseHTTPRequestHandler):

    def _send(self, status: int, answer: Dict[str, Any]) -> None:
      data = json.dumps(answer).encode()
      self.send_response(status)
      self.send_header('Content-Type', 'application/json')
      self.send_header('Content-Length', str(len(data)))
      self.end_headers()
      self.wfile.write(data)

    def do_POST(self):  # pylint: disable=invalid-name
      match = _PREDICT_PATH.match(self.path)
      if not match or match.group(1) != model_name:
        return self._send(404, {'error': f'Servable not found for request: {self.path}'})
      body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
      try:
        signature = loaded.signatures[body.get('signature_name', 'serving_default')]
        outputs = signature(**signature_inputs(body, signature))
      except (KeyError, ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
        message = getattr(error, 'message', None) or str(error)
        return self._send(400, {'error': message.split('\n')[0]})
      return self._send(200, rest_answer(body, outputs))

    def log_message(self, *args):  # Quiet: pytest shows failures, not access logs.
      pass

  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f'http://127.0.0.1:{server.server_address[1]}'
  finally:
    server.shutdown()
    server.server_close()
    thread.join()
