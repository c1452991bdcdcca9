"""Fine-tuning the top of the frozen EfficientNet-Lite0 on cached activations: worth it?

    nice -n 15 .venv/bin/python bench/top_block.py \
        [--metadata-path /tmp/default_run/out/metadata/poster-genres/metadata.db]

Research for "Quality and speed". The Trainer embeds every poster once with the frozen
ImageNet backbone and trains a head on the embeddings. Fine-tuning the backbone's last
MBConv block(s) and its 1280-channel head conv end to end would cost a full backbone pass
per image and epoch; but everything below those blocks stays frozen, so its output (the
activations entering the top, 9x6x192 at 288x192) can be computed once per poster and
cached, and an epoch of the top costs a small fraction of a pass of the whole backbone.

Steps, on the ExampleGen splits and the Transform graph of one finished run (its ML Metadata
store names them, as bench/ablation.py reads them):
  1. Build Lite0 at the run's input size and cut it into a frozen bottom (image ->
     activations entering the top) and a top (last block(s) + head conv + global average
     pooling) that shares the backbone's layers. One pass of the backbone caches, for every
     distinct poster of train (and its mirror image), eval and test, the activations at
     every cut and the exact frozen embedding, as .npy under --cache-dir (float16
     activations, float32 embeddings); a rerun reuses the cache.
  2. Baseline, the Trainer's method with `--flip train` (its default when these results were
     recorded): the default head (HeadConfig.of(TrainerConfig())) on the frozen embeddings,
     train oversampled with the oversampler's policy as bench/ablation.py does, plus the
     mirrored embeddings.
  3. Candidates, one per top size: the top (BatchNorm layers frozen: inference mode, ImageNet
     statistics) and the head trained together on the cached activations, the top with
     Adam at the Trainer's fine-tuning learning rate, the head with Adam at the head's. The
     head starts fresh (--head-init fresh: the baseline's recipe with the top trainable) or
     from the baseline's trained head (warm). An epoch is one pass over the oversampled
     train records in both views (original and mirrored), as the baseline's; early stopping
     on eval macro PR-AUC with the best epoch's weights restored (epoch 0: as initialized;
     a warm-started candidate that never beats it is the baseline).
  4. Each is scored as the Trainer and the benchmarks do: the decision rule (per-genre
     thresholds, 1 to 3 genres) tuned on `eval`, metrics on `eval` and `test`; a paired
     bootstrap over test posters gives a 95% interval of the test gain over the baseline.
     The serving cost of the composition bottom + top + head is timed against the
     baseline's backbone + head on one batch (same network, so it must be the same).
Choose on `eval` only; `test` is reported beside it, never chosen on. Writes a markdown
table to stdout and the results as JSON (--output); BENCHMARKS.md is left alone.
"""
import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from contract import nodes  # pylint: disable=g-import-not-at-top
from pipeline import runtime_env  # pylint: disable=g-import-not-at-top

runtime_env.require_legacy_keras()
if __name__ == '__main__':
  runtime_env.quiet_known_noise()

import tensorflow as tf  # pylint: disable=g-import-not-at-top
import tensorflow_transform as tft  # pylint: disable=g-import-not-at-top
from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top

from bench import benchmarks_md  # pylint: disable=g-import-not-at-top
from bench import quality  # pylint: disable=g-import-not-at-top
from components.oversampler import policy  # pylint: disable=g-import-not-at-top
from contract import features  # pylint: disable=g-import-not-at-top
from contract import vocabulary as genre_vocabulary  # pylint: disable=g-import-not-at-top
from models import data  # pylint: disable=g-import-not-at-top
from models import efficientnet_lite  # pylint: disable=g-import-not-at-top
from models import losses  # pylint: disable=g-import-not-at-top
from models import metrics  # pylint: disable=g-import-not-at-top
from models import thresholds  # pylint: disable=g-import-not-at-top
from models import training  # pylint: disable=g-import-not-at-top
from models import transfer  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top
from pipeline import run_summary  # pylint: disable=g-import-not-at-top

DEFAULTS = configs.PipelineConfig()
SPLITS = ('train', 'eval', 'test')
EMBEDDING = 'embedding'
BASELINE = 'baseline: frozen backbone + head'
# Cached arrays are read and fed in batches of this size (the head's batch size).
BATCH_SIZE = transfer.HeadConfig.of(DEFAULTS.trainer).batch_size
SERVING_BATCH = 32


def add_run_args(parser: argparse.ArgumentParser) -> None:
  """The finished run whose examples and Transform graph are read, and the cache made of
  them (shared with bench/head_levers.py)."""
  parser.add_argument('--metadata-path',
                      default='/tmp/default_run/out/metadata/poster-genres/metadata.db',
                      help='ML Metadata SQLite store of the finished run to read.')
  parser.add_argument('--cache-dir', default='/tmp/top_block_cache')


def seeded_parser(description: str) -> argparse.ArgumentParser:
  """The arguments of the benches that compare levers over several seeds on this cache
  (bench/head_levers.py, bench/decision_rules.py)."""
  parser = argparse.ArgumentParser(description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  add_run_args(parser)
  parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
  parser.add_argument('--bootstrap', type=int, default=1000, help='Resamples of posters.')
  return parser


def _parse_args() -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  add_run_args(parser)
  parser.add_argument('--variant', default='lite0', help='EfficientNet-Lite variant.')
  parser.add_argument('--top-blocks', type=int, nargs='+', default=[1, 2],
                      help='Candidates: how many of the last MBConv blocks the top holds '
                           '(with the head conv).')
  parser.add_argument('--head-init', choices=('fresh', 'warm'), default='fresh',
                      help="Candidates' head: newly initialized, or the baseline's trained one.")
  parser.add_argument('--epochs', type=int, default=8, help='Most epochs per candidate.')
  parser.add_argument('--patience', type=int, default=DEFAULTS.trainer.early_stopping_patience,
                      help='Epochs without a better eval macro PR-AUC before stopping.')
  parser.add_argument('--top-learning-rate', type=float,
                      default=DEFAULTS.trainer.fine_tune_learning_rate)
  parser.add_argument('--bootstrap', type=int, default=1000, help='Resamples of test posters.')
  parser.add_argument('--seed', type=int, default=DEFAULTS.trainer.seed)
  parser.add_argument('--output', default='/tmp/top_block_results.json')
  return parser.parse_args()


# --- Cutting the backbone --------------------------------------------------------------------


def boundary_layer(backbone: tf.keras.Model, top_blocks: int) -> str:
  """The layer whose output enters the last `top_blocks` MBConv blocks: the last layer of
  the block before them."""
  blocks = sorted({int(layer.name.split('_')[0][len('block'):]) for layer in backbone.layers
                   if layer.name.startswith('block')})
  if not 1 <= top_blocks < len(blocks):
    raise ValueError(f'top_blocks must be in [1, {len(blocks) - 1}], not {top_blocks}.')
  prefix = f'block{blocks[-top_blocks - 1]}_'
  return [layer.name for layer in backbone.layers if layer.name.startswith(prefix)][-1]


def split_backbone(backbone: tf.keras.Model,
                   boundary: str) -> Tuple[tf.keras.Model, tf.keras.Model]:
  """(bottom: images -> `boundary`'s output, top: that -> the backbone's output).

  The top calls the backbone's own layers after `boundary` again, wired as in the backbone
  (residual adds included), on a new input: both models share the backbone's weights, so
  training the top trains the backbone, and bottom then top computes exactly the backbone.
  """
  names = [layer.name for layer in backbone.layers]
  start = names.index(boundary)
  bottom = tf.keras.Model(backbone.input, backbone.get_layer(boundary).output,
                          name=f'{backbone.name}_bottom')
  inputs = tf.keras.Input(shape=backbone.get_layer(boundary).output.shape[1:],
                          name='activations')
  tensors = {boundary: inputs}
  for layer in backbone.layers[start + 1:]:
    inbound = layer.inbound_nodes[0].inbound_layers  # The backbone's own call comes first.
    inbound = inbound if isinstance(inbound, list) else [inbound]
    missing = [l.name for l in inbound if l.name not in tensors]
    if missing:
      raise ValueError(f'{layer.name} reads {missing}, below the cut at {boundary}.')
    args = [tensors[l.name] for l in inbound]
    tensors[layer.name] = layer(args if len(args) > 1 else args[0])
  top = tf.keras.Model(inputs, tensors[names[-1]], name=f'{backbone.name}_top')
  return bottom, top


def freeze_batch_norm(model: tf.keras.Model) -> None:
  """Every layer trainable but the BatchNorm layers: a non-trainable Keras BN layer runs in
  inference mode even in training, so it keeps ImageNet's moving statistics and they never
  see the small, label-skewed fine-tuning batches."""
  model.trainable = True
  for layer in model.layers:
    layer.trainable = not isinstance(layer, tf.keras.layers.BatchNormalization)


def compose(bottom: tf.keras.Model, top: tf.keras.Model, head: tf.keras.Model,
            name: str) -> tf.keras.Model:
  """images -> scores through the three parts: what the Trainer would export."""
  images = tf.keras.Input(shape=bottom.input_shape[1:], name='image')
  return tf.keras.Model(images, head(top(bottom(images))), name=name)


# --- The cache -------------------------------------------------------------------------------


def run_inputs(metadata_path: str):
  """(examples uri, genres, TFTransformOutput, image shape) of the run's newest execution."""
  runs = {run.node_id: run for run in run_summary.latest_run(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path))}
  examples_uri = runs[nodes.EXAMPLE_GEN].output_uris[nodes.EXAMPLES][0]
  genres = genre_vocabulary.read_vocabulary(examples_uri)
  tft_output = tft.TFTransformOutput(runs[nodes.TRANSFORM].output_uris['transform_graph'][0])
  image_shape = tuple(tft_output.transformed_feature_spec()[features.IMAGE_XF].shape)
  return examples_uri, genres, tft_output, image_shape


def _posters(examples_uri: str, split: str, tft_output, num_genres: int, batch_size: int):
  files = [os.path.join(examples_uri, f'Split-{split}', '*')]
  index = data.poster_index(files, num_genres)
  return index, data.make_dataset(files, tft_output, num_genres, batch_size, shuffle=False,
                                  keep=index.first_record)


def cache_key(examples_uri: str, image_shape: Sequence[int], variant: str) -> Dict[str, Any]:
  return {'examples_uri': examples_uri, 'image_shape': list(image_shape), 'variant': variant}


def cache_activations(cache_dir: str, examples_uri: str, genres: Sequence[str], tft_output,
                      backbone: tf.keras.Model, boundaries: Sequence[str],
                      key: Dict[str, Any]) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
  """Arrays '<split>[_mirrored]_<boundary or embedding>' and '<split>_labels', and the
  cache's description (with the seconds each split took); computed once, then read back.

  One backbone pass per poster gives every cut's activations and the frozen embedding; the
  mirror image is flipped from the decoded poster and goes through in the same batch.
  """
  meta_path = os.path.join(cache_dir, 'cache.json')
  if os.path.exists(meta_path):
    with open(meta_path) as f:
      meta = json.load(f)
    if meta['key'] == key and set(boundaries) <= set(meta['boundaries']):
      arrays = {name: np.load(os.path.join(cache_dir, f'{name}.npy'))
                for name in meta['arrays']}
      print(f'Read the cache in {cache_dir} (made in {meta["total_seconds"]:.0f} s).',
            flush=True)
      return arrays, meta
  os.makedirs(cache_dir, exist_ok=True)
  names = list(boundaries) + [EMBEDDING]
  extractor = tf.keras.Model(backbone.input, [backbone.get_layer(b).output for b in boundaries]
                             + [backbone.output])

  @tf.function(reduce_retracing=True)
  def forward(images, with_mirror):
    if with_mirror:
      images = tf.concat([images, tf.image.flip_left_right(images)], axis=0)
    outputs = extractor(images, training=False)
    return [tf.cast(o, tf.float16) for o in outputs[:-1]] + [outputs[-1]]

  arrays, seconds = {}, {}
  for split in SPLITS:
    with_mirror = split == 'train'
    index, posters = _posters(examples_uri, split, tft_output, len(genres), 64)
    start = time.monotonic()
    views = ['', 'mirrored_'] if with_mirror else ['']
    chunks = {f'{split}_{view}{name}': [] for view in views for name in names}
    for images, _ in posters:
      for name, output in zip(names, forward(images, tf.constant(with_mirror))):
        # A batch's outputs: its posters, then (with the mirror) their mirror images.
        for view, part in zip(views, np.split(output.numpy(), len(views))):
          chunks[f'{split}_{view}{name}'].append(part)
    arrays.update({n: np.concatenate(parts) for n, parts in chunks.items()})
    arrays[f'{split}_labels'] = index.labels
    if len(arrays[f'{split}_{EMBEDDING}']) != index.num_posters:
      raise AssertionError(f'{split}: cached {len(arrays[f"{split}_{EMBEDDING}"])} posters, '
                           f'the index has {index.num_posters}.')
    seconds[split] = time.monotonic() - start
    print(f'Cached {split}: {index.num_posters} posters'
          f'{" x 2 views" if with_mirror else ""} in {seconds[split]:.0f} s', flush=True)
  for name, array in arrays.items():
    np.save(os.path.join(cache_dir, f'{name}.npy'), array)
  meta = {'key': key, 'boundaries': list(boundaries), 'arrays': sorted(arrays),
          'seconds': seconds, 'total_seconds': sum(seconds.values()),
          'activation_gb': sum(a.nbytes for n, a in arrays.items()
                               if not n.endswith(('_labels', EMBEDDING))) / 1e9,
          'bytes_on_disk': sum(os.path.getsize(os.path.join(cache_dir, f'{n}.npy'))
                               for n in arrays)}
  with open(meta_path, 'w') as f:
    json.dump(meta, f, indent=2)
  return arrays, meta


def cached_lite0(args: argparse.Namespace, boundaries: Sequence[str]
                 ) -> Tuple[str, tf.keras.Model, Dict[str, np.ndarray]]:
  """(examples uri, Lite0 backbone, cached arrays) of the run and cache that `add_run_args`
  name: where bench/head_levers.py and bench/decision_rules.py start."""
  examples_uri, genres, tft_output, image_shape = run_inputs(args.metadata_path)
  backbone = efficientnet_lite.build_backbone('lite0', input_shape=image_shape)
  arrays, _ = cache_activations(args.cache_dir, examples_uri, genres, tft_output, backbone,
                                boundaries, cache_key(examples_uri, image_shape, 'lite0'))
  return examples_uri, backbone, arrays


# --- Training --------------------------------------------------------------------------------


def oversampled_rows(train_labels: np.ndarray) -> np.ndarray:
  """Train poster of each record the oversampler would write (its policy, as ablation.py)."""
  return np.repeat(np.arange(len(train_labels)), policy.plan_copies(
      train_labels, DEFAULTS.oversample_max_copies, DEFAULTS.oversample_max_growth))


def train_default_head(train: np.ndarray, mirrored: Optional[np.ndarray],
                       train_labels: np.ndarray, evaluation: np.ndarray,
                       eval_labels: np.ndarray) -> tf.keras.Model:
  """The default head on per-poster features, train oversampled with the oversampler's policy
  and, unless `mirrored` is None, the mirror views added, as the Trainer trains it with
  `--flip train` (the default when this bench's results were recorded; eval is scored on the
  original view), else as with the default `--flip none`."""
  rows = oversampled_rows(train_labels)
  views, labels = transfer.training_views(train[rows],
                                          None if mirrored is None else mirrored[rows],
                                          train_labels[rows])
  return transfer.train_head(views, labels, evaluation[np.newaxis], eval_labels,
                             transfer.HeadConfig.of(DEFAULTS.trainer))


def train_baseline(arrays: Dict[str, np.ndarray]) -> tf.keras.Model:
  """The default head on the exact frozen embeddings (the Trainer's method)."""
  return train_default_head(arrays[f'train_{EMBEDDING}'], arrays[f'train_mirrored_{EMBEDDING}'],
                            arrays['train_labels'], arrays[f'eval_{EMBEDDING}'],
                            arrays['eval_labels'])


def forward(*models: tf.keras.Model):
  """Cached activations -> the models applied in turn, in inference mode."""
  def apply(x):
    x = tf.cast(x, tf.float32)
    for model in models:
      x = model(x, training=False)
    return x
  return tf.function(apply, reduce_retracing=True)


def predict(function, activations: np.ndarray) -> np.ndarray:
  """`function` (see `forward`) on cached activations, in batches."""
  return np.concatenate([function(activations[i:i + 2 * BATCH_SIZE]).numpy()
                         for i in range(0, len(activations), 2 * BATCH_SIZE)])


def _eval_pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
  metric = training.pr_auc_metric(labels.shape[1])
  metric.update_state(labels.astype(np.float32), scores)
  return float(metric.result())


@dataclasses.dataclass
class FineTuned:
  scores: Dict[str, np.ndarray]
  history: List[Dict[str, float]]
  best_epoch: int
  epoch_seconds: List[float]


def fine_tune(top: tf.keras.Model, head: tf.keras.Model, arrays: Dict[str, np.ndarray],
              boundary: str, epochs: int, patience: int, top_learning_rate: float,
              seed: int) -> FineTuned:
  """Trains top and head together on the cached activations; early stopping on eval macro
  PR-AUC (epoch 0: as initialized), the best epoch's weights restored."""
  tf.keras.utils.set_random_seed(seed)
  rng = np.random.default_rng(seed)
  freeze_batch_norm(top)
  labels = arrays['train_labels']
  # Original views, then mirrored ones: every oversampled record in both.
  views = np.concatenate([arrays[f'train_{boundary}'], arrays[f'train_mirrored_{boundary}']])
  rows = oversampled_rows(labels)
  rows = np.concatenate([rows, rows + len(labels)])
  head_config = transfer.HeadConfig.of(DEFAULTS.trainer)
  loss = losses.make_loss(head_config.loss, labels[rows % len(labels)])
  top_optimizer = tf.keras.optimizers.Adam(top_learning_rate)
  head_optimizer = tf.keras.optimizers.Adam(head_config.learning_rate)

  @tf.function(input_signature=[tf.TensorSpec((None, *views.shape[1:]), tf.float16),
                                tf.TensorSpec((None, labels.shape[1]), tf.float32)])
  def step(x, y):
    with tf.GradientTape() as tape:
      scores = head(top(tf.cast(x, tf.float32), training=True), training=True)
      loss_value = loss(y, scores)
    top_variables, head_variables = top.trainable_variables, head.trainable_variables
    gradients = tape.gradient(loss_value, top_variables + head_variables)
    top_optimizer.apply_gradients(zip(gradients[:len(top_variables)], top_variables))
    head_optimizer.apply_gradients(zip(gradients[len(top_variables):], head_variables))
    return loss_value

  scores_of = forward(top, head)

  def evaluate():
    return _eval_pr_auc(arrays['eval_labels'], predict(scores_of, arrays[f'eval_{boundary}']))

  best_auc, best_epoch = evaluate(), 0
  best_weights = (top.get_weights(), head.get_weights())
  history = [{'epoch': 0, 'val_pr_auc': best_auc}]
  print(f'  epoch 0 (as initialized): eval macro PR-AUC {best_auc:.4f}', flush=True)
  epoch_seconds = []
  for epoch in range(1, epochs + 1):
    picks = rng.permutation(rows)
    start, total = time.monotonic(), 0.0
    for i in range(0, len(picks), BATCH_SIZE):
      batch = picks[i:i + BATCH_SIZE]
      total += float(step(views[batch], labels[batch % len(labels)].astype(np.float32))
                     ) * len(batch)
    epoch_seconds.append(time.monotonic() - start)
    auc = evaluate()
    history.append({'epoch': epoch, 'loss': total / len(picks), 'val_pr_auc': auc,
                    'seconds': epoch_seconds[-1]})
    print(f'  epoch {epoch}: loss {total / len(picks):.4f}, eval macro PR-AUC {auc:.4f}, '
          f'{epoch_seconds[-1]:.0f} s', flush=True)
    if auc > best_auc:
      best_auc, best_epoch = auc, epoch
      best_weights = (top.get_weights(), head.get_weights())
    elif epoch - best_epoch >= patience:
      break
  top.set_weights(best_weights[0])
  head.set_weights(best_weights[1])
  return FineTuned(scores={split: predict(scores_of, arrays[f'{split}_{boundary}'])
                           for split in ('eval', 'test')},
                   history=history, best_epoch=best_epoch, epoch_seconds=epoch_seconds)


# --- Scoring ---------------------------------------------------------------------------------


def default_rule(eval_labels: np.ndarray, eval_scores: np.ndarray) -> thresholds.DecisionRule:
  """The decision rule the Trainer would tune on these eval scores."""
  trainer = DEFAULTS.trainer
  return thresholds.tune_rule(eval_labels, eval_scores, trainer.threshold_policy,
                              trainer.min_genres, trainer.max_genres)


def score(arrays: Dict[str, np.ndarray], scores: Dict[str, np.ndarray],
          genres: Sequence[str]) -> Tuple[Dict[str, Dict[str, float]], Dict[str, np.ndarray]]:
  """Headline metrics on eval and test with the rule tuned on eval; and the predictions."""
  rule = default_rule(arrays['eval_labels'], scores['eval'])
  predicted = {split: rule.apply(scores[split]) for split in ('eval', 'test')}
  return ({split: metrics.evaluate(arrays[f'{split}_labels'], scores[split], predicted[split],
                                   genres, quality.MIN_SUPPORT).headline()
           for split in ('eval', 'test')}, predicted)


def bootstrap_gain(labels: np.ndarray, candidate: Tuple[np.ndarray, np.ndarray],
                   baseline: Tuple[np.ndarray, np.ndarray], resamples: int,
                   seed: int = 0) -> Dict[str, Dict[str, float]]:
  """Paired bootstrap over posters of the gain (candidate - baseline) in macro-F1 and mAP.

  `candidate` and `baseline` are (scores, predicted) on the same posters; predictions stay
  as the eval-tuned rules made them.
  """
  intervals = metrics.bootstrap(labels, {'candidate': candidate, 'baseline': baseline},
                                reference='baseline', resamples=resamples, seed=seed,
                                min_support=quality.MIN_SUPPORT)['candidate']
  return {name: {'gain': i.value, 'low': i.low, 'high': i.high}
          for name, i in ((m, intervals[f'{m}_gain']) for m in ('macro_f1', 'map'))}


def serving_milliseconds(models: Dict[str, tf.keras.Model], images: np.ndarray,
                         repeats: int = 15) -> Dict[str, float]:
  """Median wall time of one forward pass on `images`, per model, the models interleaved so
  that a busy machine slows them alike."""
  functions = {name: tf.function(lambda x, m=model: m(x, training=False))
               for name, model in models.items()}
  images = tf.constant(images)
  for function in functions.values():
    for _ in range(3):
      function(images).numpy()
  times = {name: [] for name in models}
  for _ in range(repeats):
    for name, function in functions.items():
      start = time.perf_counter()
      function(images).numpy()
      times[name].append(1000 * (time.perf_counter() - start))
  return {name: float(np.median(t)) for name, t in times.items()}


# --- Report ----------------------------------------------------------------------------------


def _gain_cell(gain: Dict[str, float]) -> str:
  return benchmarks_md.gain_cell(gain['gain'], gain['low'], gain['high'])


def render_markdown(results: Dict[str, Any]) -> str:
  cache = results['cache']
  lines = [f"Fine-tuning the top of the frozen backbone on cached activations "
           f"(`{results['command']}`, {results['machine']}). Cache: "
           f"{cache['total_seconds']:.0f} s to make, {cache['activation_gb']:.2f} GB of "
           f"float16 activations. Candidates' head: {results['settings']['head_init']}; "
           'best epoch 0: as initialized. Rules tuned on `eval`; choose on `eval`, `test` '
           'beside it; '
           f"test gains over the baseline with a paired bootstrap 95% interval "
           f"({results['settings']['bootstrap_resamples']} resamples of test posters).", '',
           '| model | best epoch | s / epoch | eval macro-F1 | eval micro-F1 | eval mAP | '
           'test macro-F1 | test micro-F1 | test mAP | test gain macro-F1 | test gain mAP | '
           f'ms / batch of {SERVING_BATCH} |', '| --- ' * 12 + '|']
  for name, result in results['models'].items():
    e, t = result['eval'], result['test']
    gain = result.get('test_gain')
    seconds = result.get('epoch_seconds')
    cells = [name, str(result.get('best_epoch', '-')),
             f'{np.mean(seconds):.0f}' if seconds else '-',
             *(f'{e[m]:.3f}' for m in ('macro_f1', 'micro_f1', 'map')),
             *(f'{t[m]:.3f}' for m in ('macro_f1', 'micro_f1', 'map')),
             _gain_cell(gain['macro_f1']) if gain else '-',
             _gain_cell(gain['map']) if gain else '-',
             f"{result['serving_ms']:.0f}"]
    lines.append('| ' + ' | '.join(cells) + ' |')
  lines += ['', f"Chosen on eval (mAP, then macro-F1): **{results['chosen_on_eval']}**."]
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  examples_uri, genres, tft_output, image_shape = run_inputs(args.metadata_path)
  print(f'Run: {examples_uri}, input {image_shape}, {len(genres)} genres.', flush=True)
  backbone = efficientnet_lite.build_backbone(args.variant, input_shape=image_shape)
  boundaries = {blocks: boundary_layer(backbone, blocks) for blocks in args.top_blocks}
  arrays, cache = cache_activations(args.cache_dir, examples_uri, genres, tft_output, backbone,
                                    sorted(set(boundaries.values())),
                                    cache_key(examples_uri, image_shape, args.variant))
  head_config = transfer.HeadConfig.of(DEFAULTS.trainer)
  results: Dict[str, Any] = {
      'command': benchmarks_md.command(), 'machine': benchmarks_md.machine(),
      'examples_uri': examples_uri, 'image_shape': list(image_shape),
      'cache': {k: v for k, v in cache.items() if k != 'arrays'},
      'posters': {split: len(arrays[f'{split}_labels']) for split in SPLITS},
      'train_records_oversampled': len(oversampled_rows(arrays['train_labels'])),
      'settings': {'head_init': args.head_init, 'epochs': args.epochs, 'patience': args.patience,
                   'top_learning_rate': args.top_learning_rate,
                   'head': dataclasses.asdict(head_config),
                   'oversampling': 'the oversampler policy on train, as bench/ablation.py',
                   'bootstrap_resamples': args.bootstrap, 'seed': args.seed},
      'models': {}}
  print(f"Posters {results['posters']}; train oversampled to "
        f"{results['train_records_oversampled']} records.", flush=True)
  # One batch of real eval posters (the first ones, as cached): the serving batch, and the
  # check that the composed model and the cache agree.
  _, eval_posters = _posters(examples_uri, 'eval', tft_output, len(genres), SERVING_BATCH)
  serving_images = next(iter(eval_posters))[0].numpy()

  tf.keras.utils.set_random_seed(args.seed)
  start = time.monotonic()
  baseline_head = train_baseline(arrays)
  baseline_scores = {split: transfer.predict_views(baseline_head, arrays[f'{split}_{EMBEDDING}'])
                     for split in ('eval', 'test')}
  baseline_metrics, baseline_predicted = score(arrays, baseline_scores, genres)
  results['models'][BASELINE] = {
      **baseline_metrics, 'train_seconds': time.monotonic() - start,
      'eval_pr_auc': _eval_pr_auc(arrays['eval_labels'], baseline_scores['eval'])}
  serving_models = {BASELINE: transfer.compose(backbone, baseline_head, flip_at_serving=False,
                                               name='baseline')}
  print(BASELINE, json.dumps(baseline_metrics), flush=True)

  for blocks, boundary in boundaries.items():
    name = (f"fine-tuned top: last {blocks} block{'s' if blocks > 1 else ''} + head conv, "
            f'{args.head_init} head')
    print(f'{name} (cut after {boundary})', flush=True)
    # A fresh backbone per candidate: its top shares, and trains, the backbone's layers.
    candidate_backbone = efficientnet_lite.build_backbone(args.variant,
                                                          input_shape=image_shape)
    bottom, top = split_backbone(candidate_backbone, boundary)
    # ImageNet top on the float16 cache against the float32 embedding of the whole backbone.
    cache_error = float(np.abs(predict(forward(top), arrays[f'eval_{boundary}'])
                               - arrays[f'eval_{EMBEDDING}']).max())
    tf.keras.utils.set_random_seed(args.seed)
    head = transfer.build_head(efficientnet_lite.EMBEDDING_SIZE, len(genres), head_config)
    if args.head_init == 'warm':
      head.set_weights(baseline_head.get_weights())
    tuned = fine_tune(top, head, arrays, boundary, args.epochs, args.patience,
                      args.top_learning_rate, args.seed)
    candidate_metrics, predicted = score(arrays, tuned.scores, genres)
    model = compose(bottom, top, head, name=f'top_{blocks}_blocks')
    serving_models[name] = model
    composed = model(serving_images, training=False).numpy()
    via_cache = predict(forward(top, head), arrays[f'eval_{boundary}'][:len(serving_images)])
    results['models'][name] = {
        **candidate_metrics, 'cut_after': boundary,
        'trainable_top_weights': int(sum(np.prod(v.shape) for v in top.trainable_variables)),
        'best_epoch': tuned.best_epoch, 'epoch_seconds': tuned.epoch_seconds,
        'eval_pr_auc': tuned.history[tuned.best_epoch]['val_pr_auc'],
        'history': tuned.history,
        'test_gain': bootstrap_gain(arrays['test_labels'],
                                    (tuned.scores['test'], predicted['test']),
                                    (baseline_scores['test'], baseline_predicted['test']),
                                    args.bootstrap, args.seed),
        'cache_embedding_max_abs_error': cache_error,
        'composed_vs_cached_scores_max_abs_diff': float(np.abs(composed - via_cache).max())}
    print(name, json.dumps({k: results['models'][name][k] for k in (
        'eval', 'test', 'test_gain', 'best_epoch', 'cache_embedding_max_abs_error',
        'composed_vs_cached_scores_max_abs_diff')}), flush=True)

  milliseconds = serving_milliseconds(serving_models, serving_images)
  for name, model in serving_models.items():
    results['models'][name].update(serving_ms=milliseconds[name],
                                   parameters=model.count_params())
  # A candidate whose best epoch is 0 kept its initial weights: warm-started, that is the
  # baseline (its metrics differ only by the float16 cache's rounding); it is not a choice.
  choices = [n for n, r in results['models'].items()
             if n == BASELINE or args.head_init == 'fresh' or r['best_epoch'] > 0]
  results['chosen_on_eval'] = max(choices, key=lambda n: (
      results['models'][n]['eval']['map'], results['models'][n]['eval']['macro_f1']))
  benchmarks_md.report(results, render_markdown(results), args.output)


if __name__ == '__main__':
  main()
