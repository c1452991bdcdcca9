"""The window of spans' manifest: how a run's new span joins the window the last one left."""
import os

import pytest

from components.span_window import manifest


def _span(span, version=0, root='/drops'):
  uris = {key: f'{root}/{key}/{span}-{version}' for key in manifest.KEYS}
  return manifest.Span(span=span, version=version, uris=uris,
                       split_names={manifest.EXAMPLES: ['train', 'eval', 'test'],
                                    manifest.EMBEDDED_EXAMPLES: ['train', 'eval']})


def test_a_new_span_joins_the_window_in_span_order():
  window = manifest.updated([_span(0), _span(2)], _span(1), num_spans=0)
  assert [entry.span for entry in window] == [0, 1, 2]


def test_the_window_keeps_the_newest_spans():
  window = manifest.updated([_span(0), _span(1), _span(2)], _span(3), num_spans=2)
  assert [entry.span for entry in window] == [2, 3]


def test_a_span_ingested_again_replaces_its_entry():
  """Kubeflow Pipelines ingests the newest span in every run: the window stays the same."""
  window = manifest.updated([_span(0), _span(1)], _span(1, version=1), num_spans=0)
  assert [(entry.span, entry.version) for entry in window] == [(0, 0), (1, 1)]


def test_a_published_window_is_the_next_runs(tmp_path):
  window_dir = str(tmp_path / 'span_window')
  assert manifest.latest(window_dir) == []
  manifest.publish(window_dir, [_span(0)])
  manifest.publish(window_dir, manifest.updated(manifest.latest(window_dir), _span(1), 0))
  assert manifest.latest(window_dir) == [_span(0), _span(1)]
  assert sorted(os.listdir(window_dir)) == [manifest.LATEST_FILE]


def test_a_span_whose_artifacts_are_gone_is_named(tmp_path):
  present = _span(0, root=str(tmp_path))
  for uri in present.uris.values():
    os.makedirs(uri)
  manifest.check_present([present])
  with pytest.raises(manifest.WindowError, match="Span 1's examples .* are gone"):
    manifest.check_present([present, _span(1, root=str(tmp_path))])


def test_a_malformed_manifest_is_a_clear_error(tmp_path):
  path = tmp_path / manifest.LATEST_FILE
  path.write_text('{"spans": [{"span": 0}]}')
  with pytest.raises(manifest.WindowError, match='is not a span window manifest'):
    manifest.latest(str(tmp_path))


def test_consumers_read_the_window_as_examples_artifacts(tmp_path):
  manifest.write(str(tmp_path / manifest.MANIFEST_FILE), [_span(0), _span(1)])
  [first, second] = manifest.window_artifacts(str(tmp_path), manifest.EMBEDDED_EXAMPLES)
  assert (second.uri, second.span) == (_span(1).uris[manifest.EMBEDDED_EXAMPLES], 1)
  assert first.split_names == '["train", "eval"]'
