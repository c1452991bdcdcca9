"""Serving speed of a SavedModel: posters/s at batch 1 and 32, one-poster latency p50/p95,
with TensorFlow's oneDNN kernels left to their default, turned off and turned on; and the
memory a batch with one 20000 x 20000 JPEG costs.

    .venv/bin/python bench/serving.py [--model DIR] [--model-note TEXT] [--data-root DIR]

Calls `serving_default` in-process on real shared posters (raw JPEG bytes; the per-poster
checks, decode and resize of the serving graph included), exactly the work TF Serving's
TensorFlow session does for a request, without HTTP and JSON. TensorFlow reads
TF_ENABLE_ONEDNN_OPTS once per process, so each setting is measured in a fresh process, one
after the other in this one run, on the same posters; the report names the CPU model
(lib.machine), the setting and whether oneDNN was in effect beside every figure. `--model` is
a SavedModel or a directory of numbered versions (default: the newest version pushed to the
configured serving directory). Results are printed and rendered into BENCHMARKS.md between
the markers below; they size the Kubernetes replicas and resources (README, "Size the
replicas").
"""
import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import lib  # pylint: disable=g-import-not-at-top

from contract import layout  # pylint: disable=g-import-not-at-top
from pipeline import configs  # pylint: disable=g-import-not-at-top

DEFAULTS = configs.PipelineConfig()
REPO_ROOT = lib.REPO_ROOT
BEGIN_MARKER, END_MARKER = lib.markers('serving.py')
BATCH_SIZES = (1, 32)
# TF_ENABLE_ONEDNN_OPTS per measured process: None leaves it unset (TensorFlow's default for
# the CPU), as a deployment that does not set it gets.
ONEDNN_SETTINGS = (None, '0', '1')
# The oversized poster of the memory measurement, and the batch it travels in.
HUGE_POSTER_SIDE = 20000
MEMORY_BATCH = 32


def _parse_args() -> argparse.Namespace:
  parser = lib.parser(__doc__)
  parser.add_argument('--model', default=configs.PipelineConfig.from_env().serving_model_dir)
  parser.add_argument('--data-root', default=DEFAULTS.data_root)
  parser.add_argument('--posters', type=int, default=640,
                      help='Shared posters to cycle through (default: %(default)s).')
  parser.add_argument('--seconds', type=float, default=20.0,
                      help='Timed seconds per measurement (default: %(default)s).')
  parser.add_argument('--model-note', default='',
                      help='What the model is (architecture, training), for the report.')
  lib.add_benchmarks(parser)
  parser.add_argument('--worker', choices=('speed', 'memory'),
                      help=argparse.SUPPRESS)  # One measurement in this process, as JSON.
  return parser.parse_args()


def _read_posters(data_root: str, count: int) -> List[bytes]:
  paths = sorted(glob.glob(os.path.join(data_root, layout.IMAGES_DIR,
                                        '*' + layout.IMAGE_EXTENSION)))[:count]
  if not paths:
    raise FileNotFoundError(f'No posters under {os.path.join(data_root, layout.IMAGES_DIR)}.')
  posters = []
  for path in paths:
    with open(path, 'rb') as f:
      posters.append(f.read())
  return posters


def _load(model_dir: str):
  """serving_default of the model, and whether oneDNN is in effect in this process."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
  from contract import serving as serving_contract  # pylint: disable=g-import-not-at-top
  serve = tf.saved_model.load(model_dir).signatures[serving_contract.SERVING_SIGNATURE]

  def call(batch: List[bytes]):
    outputs = serve(**{serving_contract.IMAGE_BYTES_INPUT: tf.constant(batch)})
    return {name: tensor.numpy() for name, tensor in outputs.items()}

  return call, bool(_pywrap_util_port.IsMklEnabled()), tf.__version__


def _time_batches(call, posters: List[bytes], batch_size: int, seconds: float) -> List[float]:
  """Seconds per call, calling with consecutive batches (cycling) for about `seconds`."""
  def batch_at(i):
    return [posters[(i * batch_size + j) % len(posters)] for j in range(batch_size)]

  for i in range(3):  # Warm-up, as TF Serving's warmup file does before traffic.
    call(batch_at(i))
  latencies, i, deadline = [], 0, time.perf_counter() + seconds
  while time.perf_counter() < deadline:
    batch = batch_at(i)
    start = time.perf_counter()
    call(batch)
    latencies.append(time.perf_counter() - start)
    i += 1
  return latencies


def _peak_rss_gb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def measure_speed(model_dir: str, posters: List[bytes], seconds: float) -> Dict[str, Any]:
  import numpy as np  # pylint: disable=g-import-not-at-top
  call, onednn, tf_version = _load(model_dir)
  # The machine's 1-minute load average before and after: other jobs on the CPU show here.
  result = {'batches': {}, 'load_before': os.getloadavg()[0], 'onednn': onednn,
            'tensorflow': tf_version}
  for batch_size in BATCH_SIZES:
    latencies = np.array(_time_batches(call, posters, batch_size, seconds))
    result['batches'][batch_size] = {
        'calls': len(latencies),
        'posters_per_second': batch_size * len(latencies) / latencies.sum(),
        'p50_ms': 1000 * float(np.percentile(latencies, 50)),
        'p95_ms': 1000 * float(np.percentile(latencies, 95)),
    }
  result['load_after'] = os.getloadavg()[0]
  result['peak_rss_gb'] = _peak_rss_gb()
  return result


def measure_memory(model_dir: str, posters: List[bytes]) -> Dict[str, Any]:
  """Peak resident memory after batches of real posters, then after the same batch with one
  poster replaced by a 20000 x 20000 JPEG."""
  from tests import synthetic  # pylint: disable=g-import-not-at-top
  call, onednn, _ = _load(model_dir)
  batch = posters[:MEMORY_BATCH]
  for _ in range(3):
    call(batch)
  before = _peak_rss_gb()
  huge = synthetic.uniform_jpeg(HUGE_POSTER_SIDE, HUGE_POSTER_SIDE)
  outputs = call([huge] + batch[1:])
  return {'before_gb': before, 'after_gb': _peak_rss_gb(), 'onednn': onednn,
          'huge_status': outputs['status'][0].decode(), 'huge_mb': len(huge) / 1e6}


def _run_worker(kind: str, onednn: Any, argv: List[str]) -> Dict[str, Any]:
  env = dict(os.environ)
  env.pop('TF_ENABLE_ONEDNN_OPTS', None)
  if onednn is not None:
    env['TF_ENABLE_ONEDNN_OPTS'] = onednn
  completed = subprocess.run([sys.executable, os.path.abspath(__file__), *argv,
                              '--worker', kind], env=env, capture_output=True, text=True)
  if completed.returncode:
    raise RuntimeError(f'{kind} worker (TF_ENABLE_ONEDNN_OPTS={onednn}) failed:\n'
                       f'{completed.stderr[-3000:]}')
  return json.loads(completed.stdout.strip().splitlines()[-1])


def _setting(onednn: Any) -> str:
  return 'unset' if onednn is None else f'={onednn}'


def render_markdown(result: Dict[str, Any]) -> str:
  runs = result['runs']
  header = ['measure'] + [
      f"TF_ENABLE_ONEDNN_OPTS {_setting(run['setting'])} "
      f"(oneDNN {'on' if run['onednn'] else 'off'})" for run in runs]

  def row(name, cell):
    return '| ' + ' | '.join([name] + [cell(run) for run in runs]) + ' |'

  off = [run for run in runs if not run['onednn']]
  memory = result['memory']
  lines = [
      BEGIN_MARKER, '', '## Serving speed of the SavedModel (bench/serving.py)', '',
      lib.generated_by(result), '',
      f"Model: `{result['model_dir']}` ({result['model_note']}). "
      f"TensorFlow {result['tensorflow']}, no GPU; other jobs share the CPU, so each column "
      'gives the 1-minute load average before and after it.',
      f"Data: {result['posters']} real shared posters (raw JPEG bytes), cycled; each figure "
      f"is {result['seconds']:.0f} s of back-to-back in-process `serving_default` calls "
      '(per-poster checks, JPEG decode and resize included; HTTP/JSON not included). The '
      'columns ran one after the other in this run, each in a fresh process.', '',
      '| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header),
      row('throughput, batch 32',
          lambda r: f"{r['batches']['32']['posters_per_second']:.0f} posters/s"),
      row('throughput, batch 1',
          lambda r: f"{r['batches']['1']['posters_per_second']:.0f} posters/s"),
      row('one-poster latency p50 / p95',
          lambda r: f"{r['batches']['1']['p50_ms']:.1f} / {r['batches']['1']['p95_ms']:.1f} ms"),
      row('batch-32 latency p50 / p95',
          lambda r: f"{r['batches']['32']['p50_ms']:.0f} / {r['batches']['32']['p95_ms']:.0f} ms"),
      row('peak resident memory of the process', lambda r: f"{r['peak_rss_gb']:.2f} GB"),
      row('1-minute load average before / after',
          lambda r: f"{r['load_before']:.1f} / {r['load_after']:.1f}"),
  ]
  if off:
    baseline = off[0]['batches']['32']['posters_per_second']
    lines.append(row(f"batch-32 throughput / oneDNN off ({_setting(off[0]['setting'])})",
                     lambda r: f"{r['batches']['32']['posters_per_second'] / baseline:.2f}x"))
  lines += [
      '',
      f"Memory (a fresh process, TF_ENABLE_ONEDNN_OPTS {_setting(memory['setting'])}, oneDNN "
      f"{'on' if memory['onednn'] else 'off'}): peak resident memory "
      f"{memory['before_gb']:.2f} GB after batches of {MEMORY_BATCH} real posters, "
      f"{memory['after_gb']:.2f} GB after the same batch with one poster replaced by a "
      f"{HUGE_POSTER_SIDE} x {HUGE_POSTER_SIDE} JPEG ({memory['huge_mb']:.1f} MB; status "
      f"`{memory['huge_status']}`, decoded at 1/8 scale): "
      f"+{1024 * (memory['after_gb'] - memory['before_gb']):.0f} MiB.", '',
      END_MARKER]
  return '\n'.join(lines)


def main() -> None:
  args = _parse_args()
  posters = _read_posters(args.data_root, args.posters)
  if args.worker:
    result = (measure_speed(args.model, posters, args.seconds) if args.worker == 'speed'
              else measure_memory(args.model, posters))
    print(json.dumps(result))
    return
  from poster_predict import local_model  # pylint: disable=g-import-not-at-top
  model_dir = local_model.newest_version(args.model)
  argv = ['--model', model_dir, '--data-root', args.data_root, '--posters',
          str(args.posters), '--seconds', str(args.seconds)]
  runs = []
  for onednn in ONEDNN_SETTINGS:
    run = _run_worker('speed', onednn, argv)
    run['setting'] = onednn
    runs.append(run)
    print(f"TF_ENABLE_ONEDNN_OPTS {_setting(onednn)}: oneDNN {'on' if run['onednn'] else 'off'}, "
          f"{run['batches']['32']['posters_per_second']:.0f} posters/s at batch 32", flush=True)
  memory = _run_worker('memory', '1', argv)
  memory['setting'] = '1'
  result = {
      'runs': runs, 'memory': memory,
      **lib.provenance(),
      'model_dir': os.path.relpath(model_dir, REPO_ROOT),
      'model_note': args.model_note or 'see the command',
      'tensorflow': runs[0]['tensorflow'], 'posters': len(posters), 'seconds': args.seconds}
  lib.publish(render_markdown(result), args.benchmarks, BEGIN_MARKER, END_MARKER)


if __name__ == '__main__':
  main()
