"""The report command line finds an evaluation's inputs through ML Metadata.

The stores are real ML Metadata stores, written the way the orchestrators write them: TFX's
local runner (a node context per component, parameters as custom properties, events keyed by
input and output name, a cache hit as a CACHED execution with the original artifacts) and
Kubeflow Pipelines (the node as the `task_name` property, parameters under `inputs`).
"""
import json
import os
import subprocess
import sys

from google.protobuf import struct_pb2
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
import pytest

from contract import nodes
from reports import locate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Event = metadata_store_pb2.Event
Execution = metadata_store_pb2.Execution


class Recorder:
  """Writes executions with their artifacts and events into a SQLite store."""

  def __init__(self, path: str, root: str, kfp: bool = False):
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    self.store = metadata_store.MetadataStore(config)
    self.root, self.kfp = root, kfp
    self._types = {}
    self._node_type = self.store.put_context_type(metadata_store_pb2.ContextType(name='node'))
    self._nodes = {}

  def _artifact_type(self, name):
    if name not in self._types:
      self._types[name] = self.store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
    return self._types[name]

  def artifact(self, type_name: str, node: str, key: str, execution: int) -> int:
    uri = os.path.join(self.root, node, key, str(execution))
    [artifact_id] = self.store.put_artifacts([metadata_store_pb2.Artifact(
        type_id=self._artifact_type(type_name), uri=uri)])
    return artifact_id

  def uri(self, artifact_id: int) -> str:
    return self.store.get_artifacts_by_id([artifact_id])[0].uri

  def execution(self, node: str, inputs: dict, outputs: dict, split=None,
                state=Execution.COMPLETE) -> int:
    execution = Execution(type_id=self.store.put_execution_type(
        metadata_store_pb2.ExecutionType(name=f'components.{node}')), last_known_state=state)
    if split is not None:
      splits = json.dumps([split])
      if self.kfp:
        execution.custom_properties['inputs'].struct_value.CopyFrom(
            struct_pb2.Struct(fields={'example_splits': struct_pb2.Value(string_value=splits)}))
      else:
        execution.custom_properties['example_splits'].string_value = splits
    if self.kfp:
      execution.custom_properties['task_name'].string_value = node
    events = []
    for event_type, artifacts in ((Event.INPUT, inputs), (Event.OUTPUT, outputs)):
      for key, ids in artifacts.items():
        for index, artifact_id in enumerate(ids):
          event = Event(type=event_type, artifact_id=artifact_id)
          event.path.steps.add().key = key
          event.path.steps.add().index = index
          events.append(event)
    [execution_id] = self.store.put_executions([execution])
    for event in events:
      event.execution_id = execution_id
    self.store.put_events(events)
    if not self.kfp:
      if node not in self._nodes:
        [self._nodes[node]] = self.store.put_contexts([metadata_store_pb2.Context(
            type_id=self._node_type, name=f'poster-genres.{node}')])
      self.store.put_attributions_and_associations(
          [], [metadata_store_pb2.Association(context_id=self._nodes[node],
                                              execution_id=execution_id)])
    return execution_id


def _run(recorder: Recorder, spans, execution: int):
  """One pipeline run: examples of `spans` window, a model, both evaluations."""
  examples = [recorder.artifact('Examples', nodes.EXAMPLE_GEN, nodes.EXAMPLES, execution + span)
              for span in spans]
  model = recorder.artifact('Model', nodes.TRAINER, nodes.MODEL, execution + 10)
  recorder.execution(nodes.TRAINER, {}, {nodes.MODEL: [model]})
  gate = recorder.artifact('ModelEvaluation', nodes.EVALUATOR, nodes.EVALUATION, execution + 11)
  recorder.execution(nodes.EVALUATOR, {nodes.EXAMPLES: examples, nodes.MODEL: [model]},
                     {nodes.EVALUATION: [gate]}, split='eval')
  test = recorder.artifact('ModelEvaluation', nodes.TEST_EVALUATOR, nodes.EVALUATION,
                           execution + 12)
  recorder.execution(nodes.TEST_EVALUATOR, {nodes.EXAMPLES: examples, nodes.MODEL: [model]},
                     {nodes.EVALUATION: [test]}, split='test')
  return {'examples': [recorder.uri(e) for e in examples], 'model': model,
          'gate': recorder.uri(gate), 'test': recorder.uri(test), 'test_id': test}


@pytest.fixture(params=['local', 'kfp'])
def recorded(request, tmp_path):
  root = str(tmp_path / 'output' / 'poster-genres')
  path = str(tmp_path / 'metadata.db')
  recorder = Recorder(path, root, kfp=request.param == 'kfp')
  first = _run(recorder, spans=[0], execution=100)
  second = _run(recorder, spans=[0, 1], execution=200)
  return recorder, path, root, first, second


def _store(path):
  return metadata_store.MetadataStore(locate.connection_config(metadata_path=path))


def test_a_pipeline_root_gives_its_newest_test_evaluation_with_its_window_and_gate(recorded):
  _, path, root, _, second = recorded
  inputs = locate.resolve(_store(path), root)
  assert inputs == locate.ReportInputs(evaluation_uri=second['test'],
                                       examples_uris=second['examples'], split='test',
                                       gate_uri=second['gate'])
  assert len(inputs.examples_uris) == 2  # Both spans of the window.


def test_an_older_evaluation_gives_its_own_inputs(recorded):
  _, path, _, first, _ = recorded
  assert locate.resolve(_store(path), first['test']) == locate.ReportInputs(
      evaluation_uri=first['test'], examples_uris=first['examples'], split='test',
      gate_uri=first['gate'])
  gate = locate.resolve(_store(path), first['gate'])
  assert (gate.split, gate.gate_uri) == ('eval', first['gate'])


def test_a_cached_run_is_found_with_the_artifacts_it_reused(recorded):
  """A cache hit is a newer execution over the same artifacts; no directory is written."""
  recorder, path, root, _, second = recorded
  examples = [a for a in recorder.store.get_artifacts_by_type('Examples')
              if a.uri in second['examples']]
  recorder.execution(nodes.TEST_EVALUATOR,
                     {nodes.EXAMPLES: [a.id for a in examples], nodes.MODEL: [second['model']]},
                     {nodes.EVALUATION: [second['test_id']]}, split='test',
                     state=Execution.CACHED)
  inputs = locate.resolve(_store(path), root)
  assert (inputs.evaluation_uri, inputs.examples_uris) == (second['test'], second['examples'])


def test_given_inputs_are_kept(recorded):
  _, path, root, _, _ = recorded
  inputs = locate.resolve(_store(path), root, examples_uris=['/x'], split='eval', gate_uri='/g')
  assert (inputs.examples_uris, inputs.split, inputs.gate_uri) == (['/x'], 'eval', '/g')


def test_what_the_store_does_not_hold_is_a_clear_error(recorded, tmp_path):
  _, path, _, _, _ = recorded
  with pytest.raises(locate.LocateError, match='neither an evaluation nor a pipeline root'):
    locate.resolve(_store(path), str(tmp_path / 'elsewhere'))
  with pytest.raises(locate.LocateError, match='No ML Metadata store at'):
    locate.connection_config(metadata_path=str(tmp_path / 'missing.db'))


def test_the_default_store_is_where_a_default_local_run_keeps_it(tmp_path):
  assert locate.default_metadata_path(str(tmp_path / 'out' / 'poster-genres')) == str(
      tmp_path / 'out' / 'metadata' / 'poster-genres' / 'metadata.db')


def test_the_command_line_says_in_one_line_where_it_looked(tmp_path):
  result = subprocess.run([sys.executable, '-m', 'reports', str(tmp_path / 'poster-genres')],
                          cwd=REPO, capture_output=True, text=True)
  assert result.returncode != 0
  assert result.stderr.strip().splitlines()[-1] == (
      'python -m reports: No ML Metadata store at '
      f'{tmp_path}/metadata/poster-genres/metadata.db: pass --metadata-path (the local '
      "runner's metadata.db) or --metadata-grpc HOST:PORT.")
