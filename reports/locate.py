"""Finds the inputs of a report through ML Metadata, for the command line.

What an evaluation ran on is what its execution recorded: the examples of its input events
(every span of the window, with spans on), its split (the `example_splits` property), and
the model it evaluated, whose gating Evaluator execution holds the push decision. A run
served from the cache records the same artifacts, so it is found the same way, and nothing
depends on how the orchestrator lays out its directories.

The store is the local runner's SQLite file or, on Kubeflow Pipelines, its ML Metadata gRPC
service (`kubectl port-forward svc/metadata-grpc-service 8080:8080`). TFX's local runner
names an execution's node by a context, Kubeflow Pipelines by its `task_name` property (the
task names are the node ids), and Kubeflow Pipelines keeps the parameters under `inputs`.
"""
import dataclasses
import json
import os
from typing import List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from contract import nodes
from pipeline import configs

_DONE = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
_NODE_CONTEXT = 'node'


class LocateError(ValueError):
  """The store holds no evaluation for what was asked; the message says what to pass."""


@dataclasses.dataclass(frozen=True)
class ReportInputs:
  evaluation_uri: str
  examples_uris: List[str]
  split: str
  gate_uri: Optional[str]


def default_metadata_path(pipeline_root: str) -> str:
  """The local runner's store for a pipeline root laid out by default
  (`<output dir>/<pipeline name>`)."""
  output_dir, name = os.path.split(os.path.normpath(pipeline_root))
  return configs.PipelineConfig.of(output_dir=output_dir, pipeline_name=name).metadata_path


def connection_config(metadata_path: str = '', metadata_grpc: str = ''):
  """A SQLite file (read only) or a `host:port` ML Metadata gRPC service."""
  if metadata_grpc:
    host, _, port = metadata_grpc.rpartition(':')
    if not host or not port.isdigit():
      raise LocateError(f'--metadata-grpc {metadata_grpc!r} is not host:port.')
    return metadata_store_pb2.MetadataStoreClientConfig(host=host, port=int(port))
  if not os.path.isfile(metadata_path):
    raise LocateError(f'No ML Metadata store at {metadata_path}: pass --metadata-path (the '
                      'local runner\'s metadata.db) or --metadata-grpc HOST:PORT.')
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata_path
  config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
  return config


class _Store:
  """The few lineage queries a report needs."""

  def __init__(self, store: metadata_store.MetadataStore):
    self._store = store
    self._node_type = next((t.id for t in store.get_context_types()
                            if t.name == _NODE_CONTEXT), None)

  def node_id(self, execution: metadata_store_pb2.Execution) -> str:
    task_name = execution.custom_properties.get('task_name')
    if task_name is not None:
      return task_name.string_value
    return next((context.name.rsplit('.', 1)[-1]
                 for context in self._store.get_contexts_by_execution(execution.id)
                 if context.type_id == self._node_type), '')

  def parameter(self, execution: metadata_store_pb2.Execution, name: str):
    if name in execution.custom_properties:
      value = execution.custom_properties[name]
      return getattr(value, value.WhichOneof('value'))
    inputs = execution.custom_properties.get('inputs')
    if inputs is not None and name in inputs.struct_value.fields:
      value = inputs.struct_value.fields[name]
      return getattr(value, value.WhichOneof('kind'))
    return None

  def events(self, execution_id: int, event_type, key: str) -> List[metadata_store_pb2.Artifact]:
    """Artifacts of an execution's events of `event_type` under `key`, oldest first."""
    ids = [event.artifact_id for event in self._store.get_events_by_execution_ids([execution_id])
           if event.type == event_type and event.path.steps
           and event.path.steps[0].key == key]
    return sorted(self._store.get_artifacts_by_id(ids), key=lambda artifact: artifact.id)

  def executions_with(self, artifact_id: int, event_type,
                      key: str) -> List[metadata_store_pb2.Execution]:
    """Finished executions that had `artifact_id` as `key`, newest first."""
    ids = {event.execution_id for event in self._store.get_events_by_artifact_ids([artifact_id])
           if event.type == event_type and event.path.steps
           and event.path.steps[0].key == key}
    executions = [e for e in self._store.get_executions_by_id(ids) if e.last_known_state in _DONE]
    return sorted(executions, key=lambda e: (e.create_time_since_epoch, e.id), reverse=True)

  def evaluations_under(self, root: str, node: str) -> List[metadata_store_pb2.Artifact]:
    """ModelEvaluation artifacts under `root` that `node` wrote, newest first."""
    evaluations = [artifact for artifact in
                   self._store.get_artifacts_by_type('ModelEvaluation')
                   if artifact.uri.startswith(root.rstrip('/') + '/')]
    return sorted((artifact for artifact in evaluations
                   if any(self.node_id(execution) == node for execution in
                          self.executions_with(artifact.id, metadata_store_pb2.Event.OUTPUT,
                                               nodes.EVALUATION))),
                  key=lambda artifact: artifact.id, reverse=True)

  def artifact_at(self, uri: str) -> Optional[metadata_store_pb2.Artifact]:
    found = self._store.get_artifacts_by_uri(uri)
    return max(found, key=lambda artifact: artifact.id) if found else None


def resolve(store: metadata_store.MetadataStore, path: str,
            examples_uris: Optional[List[str]] = None, split: Optional[str] = None,
            gate_uri: Optional[str] = None) -> ReportInputs:
  """`path`: an Evaluator's evaluation, or a pipeline root (its newest test evaluation, else
  its newest gating one). Given inputs are kept; the rest come from the store."""
  lineage = _Store(store)
  path = path.rstrip('/') if '://' in path else os.path.normpath(path)
  evaluation = lineage.artifact_at(path)
  if evaluation is None:
    evaluation = next(iter(lineage.evaluations_under(path, nodes.TEST_EVALUATOR)
                           or lineage.evaluations_under(path, nodes.EVALUATOR)), None)
  if evaluation is None:
    raise LocateError(f'{path} is neither an evaluation nor a pipeline root with an '
                      f'{nodes.TEST_EVALUATOR} or {nodes.EVALUATOR} evaluation in this ML '
                      'Metadata store.')
  producers = lineage.executions_with(evaluation.id, metadata_store_pb2.Event.OUTPUT,
                                      nodes.EVALUATION)
  if not producers:
    raise LocateError(f'No finished execution wrote {evaluation.uri}.')
  execution = producers[0]
  node = lineage.node_id(execution)
  if examples_uris is None:
    examples_uris = [artifact.uri for artifact in lineage.events(
        execution.id, metadata_store_pb2.Event.INPUT, nodes.EXAMPLES)]
  if split is None:
    splits = lineage.parameter(execution, 'example_splits')
    split = json.loads(splits)[0] if splits else ('eval' if node == nodes.EVALUATOR else 'test')
  if gate_uri is None:
    gate_uri = evaluation.uri if node == nodes.EVALUATOR else _gate_of(lineage, execution)
  return ReportInputs(evaluation_uri=evaluation.uri, examples_uris=examples_uris, split=split,
                      gate_uri=gate_uri)


def _gate_of(lineage: _Store, execution: metadata_store_pb2.Execution) -> Optional[str]:
  """The evaluation of the gating Evaluator that judged the model `execution` evaluated."""
  for model in lineage.events(execution.id, metadata_store_pb2.Event.INPUT, nodes.MODEL):
    for judge in lineage.executions_with(model.id, metadata_store_pb2.Event.INPUT, nodes.MODEL):
      if lineage.node_id(judge) == nodes.EVALUATOR:
        outputs = lineage.events(judge.id, metadata_store_pb2.Event.OUTPUT, nodes.EVALUATION)
        if outputs:
          return outputs[0].uri
  return None
