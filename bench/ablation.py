"""Ablation of the frozen-backbone model's choices, on the embeddings of one finished run.

    .venv/bin/python bench/ablation.py [--run-dir bench_output/efficientnet_lite0]

Reads the ExampleGen splits and the Transform graph of a pipeline run that bench/quality.py
made (its ML Metadata store names them), embeds every poster of `train`, `eval` and `test`
once with the frozen ImageNet backbone (and its mirror image; cached in the run dir), then
trains one head per configuration with the Trainer's own functions (models/transfer.py,
models/losses.py, the oversampler's policy) and scores it as the Trainer and the benchmarks
do: decision rule tuned on `eval`, headline metrics on `test`. The choice between
configurations is made on `eval` (mAP and macro-F1 there); `test` is shown, never used to
choose. Results go into BENCHMARKS.md between the markers below.
"""
import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from contract import nodes  # pylint: disable=g-import-not-at-top
from pipeline import runtime_env  # pylint: disable=g-import-not-at-top

runtime_env.require_legacy_keras()

import tensorflow as tf  # pylint: disable=g-import-not-at-top
import tensorflow_transform as tft  # pylint: disable=g-import-not-at-top
from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top

from bench import benchmarks_md  # pylint: disable=g-import-not-at-top
from bench import quality  # pylint: disable=g-import-not-at-top
from components.oversampler import policy  # pylint: disable=g-import-not-at-top
from contract import vocabulary as genre_vocabulary  # pylint: disable=g-import-not-at-top
from models import config as model_config  # pylint: disable=g-import-not-at-top
from models import data  # pylint: disable=g-import-not-at-top
from models import efficientnet_lite  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top
from models import transfer  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top
from pipeline import run_summary  # pylint: disable=g-import-not-at-top

DEFAULTS = configs.PipelineConfig()

BEGIN_MARKER = '<!-- bench/ablation.py: begin -->'
END_MARKER = '<!-- bench/ablation.py: end -->'
SPLITS = ('train', 'eval', 'test')


@dataclasses.dataclass(frozen=True)
class Variant:
  name: str
  oversample: bool = True
  loss: str = DEFAULTS.trainer.loss
  flip: str = DEFAULTS.trainer.flip
  hidden_units: int = DEFAULTS.trainer.head_hidden_units


def variants() -> List[Variant]:
  """One change at a time from the configured default, plus imbalance combinations."""
  default = Variant('')
  default = dataclasses.replace(default, name=(
      f"configs default: {'oversampler' if default.oversample else 'no oversampler'} + "
      f'{default.loss}, flip {default.flip}, {default.hidden_units}-unit head'))
  grid = [default]
  for oversample in (True, False):
    for loss in ('bce', 'pos_weight', 'focal', 'asymmetric'):
      if (oversample, loss) != (default.oversample, default.loss):
        grid.append(dataclasses.replace(
            default, name=f"{'oversampler' if oversample else 'no oversampler'} + {loss}",
            oversample=oversample, loss=loss))
  for flip in model_config.FLIP_MODES:
    if flip != default.flip:
      grid.append(dataclasses.replace(default, name=f'flip: {flip}', flip=flip))
  grid.append(dataclasses.replace(default, name='linear head', hidden_units=0))
  return grid


def _parse_args() -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--run-dir', default=os.path.join(REPO_ROOT, 'bench_output',
                                                        DEFAULTS.trainer.model_name))
  parser.add_argument('--model-name', default=DEFAULTS.trainer.model_name)
  parser.add_argument('--benchmarks', default=os.path.join(REPO_ROOT, 'BENCHMARKS.md'))
  return parser.parse_args()


def embeddings(run_dir: str, variant: str) -> Tuple[Dict[str, np.ndarray], Tuple[str, ...]]:
  """{'<split>', '<split>_mirrored', '<split>_labels'} arrays, computed once and cached."""
  cache = os.path.join(run_dir, f'embeddings_{variant}.npz')
  runs = {run.node_id: run for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(
          os.path.join(run_dir, 'metadata.db')))}
  examples_uri = runs[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES][0]
  genres = genre_vocabulary.read_vocabulary(examples_uri)
  if os.path.exists(cache):
    with np.load(cache) as arrays:
      return dict(arrays), genres
  tft_output = tft.TFTransformOutput(runs[nodes.TRANSFORM].output_uris['transform_graph'][0])
  image_shape = tuple(tft_output.transformed_feature_spec()['image_xf'].shape)
  backbone = efficientnet_lite.build_backbone(variant, input_shape=image_shape)
  arrays = {}
  for split in SPLITS:
    files = [os.path.join(examples_uri, f'Split-{split}', '*')]
    index = data.poster_index(files, len(genres))
    posters = data.make_dataset(files, tft_output, len(genres), 64, shuffle=False,
                                keep=index.first_record)
    start = time.monotonic()
    arrays[split], arrays[f'{split}_mirrored'] = transfer.embed(backbone, posters,
                                                                with_mirror=True)
    arrays[f'{split}_labels'] = index.labels
    print(f'Embedded {split}: {index.num_posters} posters x 2 views in '
          f'{time.monotonic() - start:.0f} s', flush=True)
  np.savez(cache, **arrays)
  return arrays, genres


def train_and_predict(variant: Variant, arrays: Dict[str, np.ndarray],
                      seed: int = 0) -> Dict[str, np.ndarray]:
  """Trains the head as the Trainer does; its scores on `eval` and `test`."""
  tf.keras.utils.set_random_seed(seed)
  train, train_labels = arrays['train'], arrays['train_labels']
  mirrored: Optional[np.ndarray] = arrays['train_mirrored']
  if variant.oversample:
    rows = np.repeat(np.arange(len(train)), policy.plan_copies(
        train_labels, DEFAULTS.oversample_max_copies, DEFAULTS.oversample_max_growth))
    train, train_labels, mirrored = train[rows], train_labels[rows], mirrored[rows]
  if variant.flip == 'none':
    mirrored = None
  train, train_labels = transfer.training_views(train, mirrored, train_labels)

  def views(split):
    if variant.flip == 'train_and_serve':
      return np.stack([arrays[split], arrays[f'{split}_mirrored']])
    return arrays[split][np.newaxis]

  head = transfer.train_head(
      train, train_labels, views('eval'), arrays['eval_labels'],
      dataclasses.replace(transfer.HeadConfig.of(DEFAULTS.trainer),
                          hidden_units=variant.hidden_units, loss=variant.loss))
  return {split: transfer.predict_views(head, views(split)) for split in ('eval', 'test')}


def _train_and_score(variant: Variant, arrays: Dict[str, np.ndarray],
                     genres: Tuple[str, ...]) -> Dict[str, Dict[str, float]]:
  scores = train_and_predict(variant, arrays)
  rule = thresholds.tune_rule(arrays['eval_labels'], scores['eval'],
                              DEFAULTS.trainer.threshold_policy, DEFAULTS.trainer.min_genres,
                              DEFAULTS.trainer.max_genres)
  return {split: metrics.evaluate(arrays[f'{split}_labels'], scores[split],
                                  rule.apply(scores[split]), genres,
                                  quality.MIN_SUPPORT).headline()
          for split in ('eval', 'test')}


def default_variant() -> Variant:
  return variants()[0]


def render_markdown(results: Dict[str, Dict[str, Dict[str, float]]], command: str,
                    machine: str) -> str:
  lines = [BEGIN_MARKER, '', f'## Ablation of the `{DEFAULTS.trainer.model_name}` head '
           '(bench/ablation.py)', '',
           f'Generated by `{command}` on {machine}; do not edit by hand. One head per row on '
           'the same frozen-backbone embeddings of the full shared data (each poster and its '
           'mirror image embedded once). Decision rule: '
           f'{DEFAULTS.trainer.threshold_policy} thresholds tuned on `eval`, at least '
           f'{DEFAULTS.trainer.min_genres} genre per poster. Choose on `eval`; `test` is shown, '
           f'never chosen on. Macro-F1 and mAP average genres with at least '
           f'{quality.MIN_SUPPORT} positives in the split.', '',
           '| configuration | eval mAP | eval macro-F1 | test macro-F1 | test micro-F1 | '
           'test samples-F1 | test mAP |', '| --- | --- | --- | --- | --- | --- | --- |']
  for name, result in results.items():
    e, t = result['eval'], result['test']
    lines.append(f"| {name} | {e['map']:.3f} | {e['macro_f1']:.3f} | {t['macro_f1']:.3f} | "
                 f"{t['micro_f1']:.3f} | {t['samples_f1']:.3f} | {t['map']:.3f} |")
  return '\n'.join(lines + ['', END_MARKER])


def main() -> None:
  args = _parse_args()
  variant = model_config.MODEL_PRESETS[args.model_name].backbone
  arrays, genres = embeddings(args.run_dir, variant)
  results = {}
  for configuration in variants():
    results[configuration.name] = _train_and_score(configuration, arrays, genres)
    print(configuration.name, json.dumps(results[configuration.name]), flush=True)
  with open(os.path.join(args.run_dir, 'ablation.json'), 'w') as f:
    json.dump(results, f, indent=2)
  if args.benchmarks:
    benchmarks_md.write_section(
        args.benchmarks, render_markdown(results, benchmarks_md.command(),
                                         benchmarks_md.machine()), BEGIN_MARKER, END_MARKER)
    print(f'Wrote {args.benchmarks}')


if __name__ == '__main__':
  main()
