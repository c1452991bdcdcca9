"""The window of spans: each span's artifacts, listed in a manifest that grows run by run.

A run's SpanWindow takes the window the previous run published (`<window dir>/LATEST.json`),
puts the new span in (in place of an earlier ingest of the same span), keeps the newest
`num_spans` and publishes the result. No resolver finds the window, so it is the same under
LocalDagRunner, Vertex AI and open-source Kubeflow Pipelines (whose backend runs no resolver
at all), as the push gate finds the served model in the serving directory rather than in ML
Metadata. Consumers read a window's artifacts through `window_artifacts`.
"""
import dataclasses
import json
import os
from typing import Dict, List

import tensorflow as tf
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

MANIFEST_FILE = 'span_window.json'
LATEST_FILE = 'LATEST.json'
# What the window keeps of each span: PosterExampleGen's examples, PosterEmbedder's.
EXAMPLES = 'examples'
EMBEDDED_EXAMPLES = 'embedded_examples'
KEYS = (EXAMPLES, EMBEDDED_EXAMPLES)


class WindowError(RuntimeError):
  """A span of the window is gone or malformed; the message says which."""


@dataclasses.dataclass(frozen=True)
class Span:
  span: int
  version: int
  # Key (KEYS) -> the artifact's URI and split names.
  uris: Dict[str, str]
  split_names: Dict[str, List[str]]


def updated(window: List[Span], new: Span, num_spans: int) -> List[Span]:
  """`window` with `new` in place of any entry of its span, the newest `num_spans` kept (0:
  all), in span order."""
  spans = {entry.span: entry for entry in window}
  spans[new.span] = new
  ordered = sorted(spans.values(), key=lambda entry: entry.span)
  return ordered[-num_spans:] if num_spans else ordered


def to_json(window: List[Span]) -> str:
  return json.dumps({'spans': [dataclasses.asdict(entry) for entry in window]}, indent=1,
                    sort_keys=True)


def from_json(text: str, where: str) -> List[Span]:
  try:
    return [Span(**entry) for entry in json.loads(text)['spans']]
  except (ValueError, KeyError, TypeError) as error:
    raise WindowError(f'{where} is not a span window manifest ({error}).') from None


def read(path: str) -> List[Span]:
  with tf.io.gfile.GFile(path) as f:
    return from_json(f.read(), path)


def write(path: str, window: List[Span]) -> None:
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(to_json(window))


def latest(window_dir: str) -> List[Span]:
  """The window the last run published into `window_dir`; empty before the first."""
  path = os.path.join(window_dir, LATEST_FILE)
  return read(path) if tf.io.gfile.exists(path) else []


def publish(window_dir: str, window: List[Span]) -> None:
  """Makes `window` the next run's: written beside LATEST_FILE, then renamed over it, so a
  reader never sees half a manifest."""
  tf.io.gfile.makedirs(window_dir)
  staged = os.path.join(window_dir, LATEST_FILE + '.tmp')
  write(staged, window)
  tf.io.gfile.rename(staged, os.path.join(window_dir, LATEST_FILE), overwrite=True)


def check_present(window: List[Span]) -> None:
  """Fails, naming the span, if an artifact of the window has been deleted since it was
  published: training on a window with a hole would be silently training on less."""
  for entry in window:
    for key, uri in entry.uris.items():
      if not tf.io.gfile.exists(uri):
        raise WindowError(f'Span {entry.span}\'s {key} ({uri}) are gone: the window cannot be '
                          'built. Restore them, or start a new window directory '
                          '(--span-window-dir) to train on the spans from here on.')


def window_artifacts(manifest_dir: str, key: str) -> List[standard_artifacts.Examples]:
  """The window's Examples artifacts of `key` (EXAMPLES or EMBEDDED_EXAMPLES), in span order,
  from a SpanWindow artifact's directory."""
  artifacts = []
  for entry in read(os.path.join(manifest_dir, MANIFEST_FILE)):
    artifact = standard_artifacts.Examples()
    artifact.uri = entry.uris[key]
    artifact.split_names = artifact_utils.encode_split_names(entry.split_names[key])
    artifact.span, artifact.version = entry.span, entry.version
    artifacts.append(artifact)
  return artifacts
