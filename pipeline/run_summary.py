"""Reads ML Metadata after a local run: what each component did and what it found.

Printing from ML Metadata rather than from executor logs means a run served from the TFX
cache reports exactly what the original execution produced.
"""
import dataclasses
import json
import os
from typing import Dict, List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
import tensorflow as tf
from tfx.orchestration import metadata

from components.data_gate import executor as data_gate
from components.data_gate import findings as data_findings
from components.poster_example_gen import summary as ingest_summary
from components.slice_report import build as slice_report
from components.slice_report import evaluation
from contract import nodes
from contract import vocabulary as genre_vocabulary
from models import embeddings
from pipeline.configs import PipelineConfig

_PIPELINE_RUN_CONTEXT = 'pipeline_run'
_NODE_CONTEXT = 'node'


@dataclasses.dataclass(frozen=True)
class ComponentRun:
  node_id: str
  state: str  # COMPLETE, CACHED, FAILED, ...
  seconds: float
  output_uris: Dict[str, List[str]]
  # Input key -> artifact URIs (several for a window of spans).
  input_uris: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


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
    input_uris: Dict[str, List[str]] = {}
    events = store.get_events_by_execution_ids([execution.id])
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    for event in events:
      key = event.path.steps[0].key if event.path.steps else 'output'
      if event.type in (metadata_store_pb2.Event.OUTPUT,
                        metadata_store_pb2.Event.INTERNAL_OUTPUT):
        output_uris.setdefault(key, []).append(artifacts[event.artifact_id].uri)
      elif event.type == metadata_store_pb2.Event.INPUT:
        input_uris.setdefault(key, []).append(artifacts[event.artifact_id].uri)
    runs.append(ComponentRun(
        node_id=node_id,
        state=metadata_store_pb2.Execution.State.Name(execution.last_known_state),
        seconds=(execution.last_update_time_since_epoch
                 - execution.create_time_since_epoch) / 1000.0,
        output_uris=output_uris, input_uris=input_uris))
  return runs


def embedding_lines(embedded_uri: str, state: str, spans: bool) -> List[str]:
  """What PosterEmbedder embedded in this run."""
  with tf.io.gfile.GFile(os.path.join(embedded_uri, embeddings.SUMMARY_FILE)) as f:
    summary = json.load(f)
  counts = ', '.join(f"{split} {split_summary['posters']}"
                     for split, split_summary in summary['splits'].items())
  if not spans:
    cached = ', from the cache' if state == 'CACHED' else ''
    return [f'Posters embedded once for the Trainer and both Evaluators{cached}: {counts}.']
  if state == 'CACHED':
    return [f"Span {summary['span']}: no new span; its posters were embedded in an earlier "
            f'run ({counts}).']
  return [f"Span {summary['span']}: posters embedded once, for this and later runs: {counts}."]


def summary_lines(config: PipelineConfig, components: bool = True) -> List[str]:
  """The end of a local run: each component's state and time (unless the console showed
  them live), the ingest summary, the data gate's verdict, the push gate's table, the
  serving directory, the report, and how to serve the model."""
  runs = latest_run(metadata.sqlite_metadata_connection_config(config.metadata_path))
  lines = []
  if components:
    lines += ['', 'Components of this run:']
    lines += [f'  {run.node_id:<28} {run.state:<9} {run.seconds:8.1f} s' for run in runs]
  for run in runs:
    for uri in run.output_uris.get(nodes.INGEST_SUMMARY, []):
      lines += ['', *ingest_summary.summary_lines(ingest_summary.read_summary(uri)),
                f'Full summary: {os.path.join(uri, ingest_summary.SUMMARY_FILE)}']
  for run in runs:
    for uri in run.output_uris.get(nodes.EMBEDDED_EXAMPLES, []):
      lines += ['', *embedding_lines(uri, run.state, config.spans)]
  for run in runs:
    for uri in run.output_uris.get(nodes.DRIFT, []):
      lines += ['', *data_findings.summary_lines(data_gate.read_verdict(uri))]
  for run in runs:
    if run.node_id != nodes.EVALUATOR:
      continue  # The TestEvaluator reports on `test`; its blessing gates nothing.
    for uri in run.output_uris.get(nodes.EVALUATION, []):
      genres = genre_vocabulary.read_vocabulary(uri)
      lines += ['', *evaluation.gate_lines(evaluation.load_gate(uri, genres))]
  versions = (sorted(tf.io.gfile.listdir(config.serving_model_dir))
              if tf.io.gfile.isdir(config.serving_model_dir) else [])
  lines.append(f"Serving directory: {config.serving_model_dir} "
               f"(versions: {', '.join(v.rstrip('/') for v in versions) or 'none yet'})")
  for run in runs:
    for uri in run.output_uris.get(nodes.REPORT, []):
      lines.append(f'Slice report ({run.node_id}): '
                   f'{os.path.join(uri, slice_report.REPORT_FILE)}')
  if versions:
    lines += [f'Tag a poster: POSTER_SERVING_MODEL_DIR={config.serving_model_dir} '
              '.venv/bin/postergenre-predict POSTER.jpg',
              f'Serve it: POSTER_SERVING_MODEL_DIR={config.serving_model_dir} '
              'docker compose -f serving/docker-compose.yml up']
  return lines
