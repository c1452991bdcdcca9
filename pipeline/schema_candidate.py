"""Infers a candidate schema from a dataset, for a person to review against the committed one.

    python -m pipeline.schema_candidate --data-root ../shared/data/movie-classifier \
        --output schema_candidate.pbtxt

The pipeline never infers its schema: it imports the curated contract
(`pipeline/schema/schema.pbtxt`), so that a drop of bad posters
is compared with what posters should look like, not with itself. When the data legitimately
change (a new source, a new genre), this runs ingest, statistics and TFX's SchemaGen on the new
data, writes the inferred schema and prints how each feature's domain differs from the
committed one. Copy what is right into the committed schema by hand: inference only sees
what this one dataset happens to contain.
"""
import argparse
import os
import tempfile
from typing import List

from contract import nodes
from pipeline import runtime_env

runtime_env.require_legacy_keras()

import tensorflow_data_validation as tfdv  # pylint: disable=g-import-not-at-top
# TFX's modules, not `tfx.v1` (pipeline/pipeline.py says why).
from tfx import components as tfx_components  # pylint: disable=g-import-not-at-top
from tfx.orchestration import metadata  # pylint: disable=g-import-not-at-top
from tfx.orchestration import pipeline as tfx_pipeline  # pylint: disable=g-import-not-at-top
from tfx.orchestration.local.local_dag_runner import LocalDagRunner  # pylint: disable=g-import-not-at-top

from pipeline import configs  # pylint: disable=g-import-not-at-top
from pipeline import pipeline  # pylint: disable=g-import-not-at-top
from pipeline import run_summary  # pylint: disable=g-import-not-at-top


def infer(config: configs.PipelineConfig, work_dir: str) -> str:
  """Runs PosterExampleGen -> StatisticsGen -> SchemaGen; returns the inferred schema's path."""
  example_gen = pipeline.poster_example_gen(config)
  statistics_gen = tfx_components.StatisticsGen(examples=example_gen.outputs[nodes.EXAMPLES])
  schema_gen = tfx_components.SchemaGen(statistics=statistics_gen.outputs['statistics'],
                                        infer_feature_shape=True)
  connection = metadata.sqlite_metadata_connection_config(
      os.path.join(work_dir, 'metadata.db'))
  LocalDagRunner().run(tfx_pipeline.Pipeline(
      pipeline_name='poster-genres-schema-candidate',
      pipeline_root=os.path.join(work_dir, 'root'),
      components=[example_gen, statistics_gen, schema_gen],
      enable_cache=False,
      metadata_connection_config=connection,
      beam_pipeline_args=config.beam_pipeline_args))
  runs = run_summary.latest_run(connection)
  schema_dir = next(uri for run in runs for uri in run.output_uris.get('schema', []))
  return os.path.join(schema_dir, 'schema.pbtxt')


def domain_differences(committed, candidate) -> List[str]:
  """One line per feature or string domain that the inferred schema sees differently."""
  lines = []
  committed_features = {f.name: f for f in committed.feature}
  for feature in candidate.feature:
    old = committed_features.pop(feature.name, None)
    if old is None:
      lines.append(f'{feature.name}: not in the committed schema')
    elif old.type != feature.type:
      lines.append(f'{feature.name}: type {old.type} committed, {feature.type} inferred')
  lines.extend(f'{name}: committed, absent from the data' for name in committed_features)
  committed_domains = {d.name: set(d.value) for d in committed.string_domain}
  for domain in candidate.string_domain:
    if domain.name not in committed_domains:
      continue  # Inference gives ids and digests of a small dataset a domain too.
    seen = set(domain.value)
    allowed = committed_domains[domain.name]
    if seen - allowed:
      lines.append(f'{domain.name}: values outside the committed domain: '
                   f'{sorted(seen - allowed)}')
  return lines


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--data-root',
                      help='Dataset in the Kaggle layout (directory or gs:// URI); default: the pipeline\'s.')
  parser.add_argument('--output', default='schema_candidate.pbtxt',
                      help='Where the inferred schema is written.')
  parser.add_argument('--work-dir', help='Where the small pipeline keeps its artifacts '
                      '(default: a temporary directory, removed afterwards).')
  args = parser.parse_args()
  config = configs.PipelineConfig.from_env(data_root=args.data_root)
  with tempfile.TemporaryDirectory() as temporary:
    inferred = tfdv.load_schema_text(infer(config, args.work_dir or temporary))
  tfdv.write_schema_text(inferred, args.output)
  print(f'Inferred schema written to {args.output}.')
  differences = domain_differences(tfdv.load_schema_text(config.schema_file), inferred)
  print(f'Differences from the committed schema {config.schema_file}:')
  for line in differences or ['none']:
    print(f'  {line}')


if __name__ == '__main__':
  main()
