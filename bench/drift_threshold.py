"""Where the data contract's drift thresholds come from: distances of legitimate and real changes.

    .venv/bin/python bench/drift_threshold.py [--run-dir bench_output/efficientnet_lite0]

Reads the examples of one finished run (its ML Metadata store names them) and measures, with
TFDV's own drift comparator, the L-infinity distance of each feature that the committed schema
watches for drift (`genres`, `colour_mode`, `image_format`) between the full data and:
  - legitimate changes of size: random 90 % and 50 % of the posters, and the first 90 % by
    Id (as if the last tenth arrived later);
  - real shifts: a genre mix without Drama and Comedy posters, a drop of grayscale posters,
    a drop of PNG posters.
The thresholds in pipeline/schema/schema.pbtxt must sit above every size change and below
every shift, on each split. Results go into BENCHMARKS.md between the markers below.
"""
import dataclasses
import glob
import os
import sys
from typing import Callable, Dict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

import pandas as pd  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top
import tensorflow_data_validation as tfdv  # pylint: disable=g-import-not-at-top

from contract import features  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

# The thresholds under test are the committed schema's (what the DataGate applies today).
SCHEMA_FILE = configs.PipelineConfig().schema_file
BEGIN_MARKER, END_MARKER = lib.markers('drift_threshold.py')
SPLITS = lib.SPLITS
WATCHED = (features.GENRES, features.COLOUR_MODE, features.IMAGE_FORMAT)


@dataclasses.dataclass(frozen=True)
class Scenario:
  name: str
  legitimate: bool  # a change of size that must not trip a threshold; else a real shift
  change: Callable[[pd.DataFrame], pd.DataFrame]


SCENARIOS = [
    Scenario('random 90 %', True, lambda df: df.sample(frac=0.9, random_state=1)),
    Scenario('random 50 %', True, lambda df: df.sample(frac=0.5, random_state=2)),
    Scenario('first 90 % by Id', True,
             lambda df: df.sort_values(features.ID).head(int(len(df) * 0.9))),
    Scenario('no Drama or Comedy posters', False, lambda df: df[df[features.GENRES].map(
        lambda g: 'Drama' not in g and 'Comedy' not in g)]),
    Scenario('grayscale drop (all L)', False,
             lambda df: df.assign(**{features.COLOUR_MODE: 'L'})),
    Scenario('PNG drop', False, lambda df: df.assign(**{features.IMAGE_FORMAT: 'PNG'})),
]


def read_split(examples_uri: str, split: str) -> pd.DataFrame:
  rows = []
  files = glob.glob(os.path.join(examples_uri, f'Split-{split}', '*'))
  for record in tf.data.TFRecordDataset(files, compression_type='GZIP'):
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature
    rows.append({features.ID: feature[features.ID].bytes_list.value[0].decode(),
                 features.GENRES: [g.decode() for g in feature[features.GENRES].bytes_list.value],
                 features.COLOUR_MODE: feature[features.COLOUR_MODE].bytes_list.value[0].decode(),
                 features.IMAGE_FORMAT:
                     feature[features.IMAGE_FORMAT].bytes_list.value[0].decode()})
  return pd.DataFrame(rows)


def distances(current: pd.DataFrame, previous: pd.DataFrame, schema) -> Dict[str, float]:
  """TFDV's L-infinity distance per watched feature, as the DataGate measures it."""
  def stats(df):
    return tfdv.generate_statistics_from_dataframe(df[list(WATCHED)])
  anomalies = tfdv.validate_statistics(stats(current), schema,
                                       previous_statistics=stats(previous))
  found = {'.'.join(info.path.step): m.value for info in anomalies.drift_skew_info
           for m in info.drift_measurements}
  return {feature: float(found.get(feature, 0.0)) for feature in WATCHED}


def thresholds(schema) -> Dict[str, float]:
  return {f: tfdv.get_feature(schema, f).drift_comparator.infinity_norm.threshold
          for f in WATCHED}


def render_markdown(results: Dict[str, Dict[str, Dict[str, float]]], limits: Dict[str, float],
                    made: Dict[str, str]) -> str:
  lines = [BEGIN_MARKER, '', '## Drift thresholds (bench/drift_threshold.py)', '',
           f'{lib.generated_by(made)} TFDV\'s L-infinity '
           'distance between the full shared data and each changed version of it, per split '
           '(train / eval / test), as the DataGate measures drift. Thresholds of the committed '
           'schema: ' + ', '.join(f'`{f}` {t}' for f, t in limits.items()) + '. A legitimate '
           'change of size must stay under every threshold; a real shift must cross one.', '',
           '| change | kind | ' + ' | '.join(f'`{f}` (train / eval / test)' for f in WATCHED)
           + ' | trips |', '| --- | --- | ' + '--- | ' * len(WATCHED) + '--- |']
  for scenario in SCENARIOS:
    per_split = results[scenario.name]
    cells = [' / '.join(f'{per_split[split][f]:.3f}' for split in SPLITS) for f in WATCHED]
    trips = any(per_split[split][f] > limits[f] for split in SPLITS for f in WATCHED)
    lines.append(f"| {scenario.name} | {'size' if scenario.legitimate else 'shift'} | "
                 + ' | '.join(cells) + f" | {'yes' if trips else 'no'} |")
  return '\n'.join(lines + ['', END_MARKER])


def main() -> None:
  parser = lib.parser(__doc__)
  lib.add_run_dir(parser)
  lib.add_benchmarks(parser)
  args = parser.parse_args()
  examples_uri = lib.examples_uri(lib.latest_runs(os.path.join(args.run_dir, 'metadata.db')))
  schema = tfdv.load_schema_text(SCHEMA_FILE)
  limits = thresholds(schema)
  full = {split: read_split(examples_uri, split) for split in SPLITS}
  results = {}
  for scenario in SCENARIOS:
    results[scenario.name] = {split: distances(scenario.change(full[split]), full[split],
                                               schema) for split in SPLITS}
    print(scenario.name, results[scenario.name], flush=True)
  lib.publish(render_markdown(results, limits, lib.provenance()), args.benchmarks,
              BEGIN_MARKER, END_MARKER)


if __name__ == '__main__':
  main()
