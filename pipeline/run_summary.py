"""Reads ML Metadata after a local run: what each component did, and the ingest report.

Printing from ML Metadata rather than from executor logs means a run served from the TFX
cache reports exactly what the original execution produced.
"""
import dataclasses
from typing import Dict, List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

_PIPELINE_RUN_CONTEXT = 'pipeline_run'
_NODE_CONTEXT = 'node'


@dataclasses.dataclass(frozen=True)
class ComponentRun:
  node_id: str
  state: str  # COMPLETE, CACHED, FAILED, ...
  seconds: float
  output_uris: Dict[str, List[str]]


def _latest_run_context(store) -> Optional[metadata_store_pb2.Context]:
  runs = store.get_contexts_by_type(_PIPELINE_RUN_CONTEXT)
  return max(runs, key=lambda c: (c.create_time_since_epoch, c.id), default=None)


def latest_run(connection_config: metadata_store_pb2.ConnectionConfig) -> List[ComponentRun]:
  """The executions of the newest run recorded in a (one-pipeline) metadata store."""
  store = metadata_store.MetadataStore(connection_config)
  run_context = _latest_run_context(store)
  if run_context is None:
    return []
  executions = sorted(store.get_executions_by_context(run_context.id),
                      key=lambda e: (e.create_time_since_epoch, e.id))
  node_type_id = store.get_context_type(_NODE_CONTEXT).id
  runs = []
  for execution in executions:
    node_id = next((c.name.split('.', 1)[-1]
                    for c in store.get_contexts_by_execution(execution.id)
                    if c.type_id == node_type_id), str(execution.id))
    output_uris: Dict[str, List[str]] = {}
    events = store.get_events_by_execution_ids([execution.id])
    outputs = [e for e in events if e.type in (metadata_store_pb2.Event.OUTPUT,
                                               metadata_store_pb2.Event.INTERNAL_OUTPUT)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in outputs])}
    for event in outputs:
      key = event.path.steps[0].key if event.path.steps else 'output'
      output_uris.setdefault(key, []).append(artifacts[event.artifact_id].uri)
    runs.append(ComponentRun(
        node_id=node_id,
        state=metadata_store_pb2.Execution.State.Name(execution.last_known_state),
        seconds=(execution.last_update_time_since_epoch
                 - execution.create_time_since_epoch) / 1000.0,
        output_uris=output_uris))
  return runs
