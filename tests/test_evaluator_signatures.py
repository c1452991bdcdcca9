"""Each model is scored on the stored embeddings only where every entry can be trusted."""
import hashlib
import os

import numpy as np
import tensorflow_model_analysis as tfma
import tensorflow as tf

from components.evaluator import eval_config
from components.evaluator import signatures
from contract import features
from contract import serving
from models import embeddings
from models import export

KEY = 'a' * 64


def _model_dir(root, key=None):
  os.makedirs(os.path.join(root, 'assets'))
  if key:
    with open(os.path.join(root, 'assets', export.EMBEDDING_KEY_FILE), 'w') as f:
      f.write(key + '\n')
  return root


def _examples(path, keys):
  with tf.io.TFRecordWriter(path, 'GZIP') as writer:
    for i, key in enumerate(keys):
      example = tf.train.Example()
      example.features.feature[features.IMAGE_SHA256].bytes_list.value.append(
          hashlib.sha256(bytes([i])).hexdigest().encode())
      record = example.SerializeToString()
      writer.write(embeddings.with_embedding(record, key, np.full(4, i, np.float32))
                   if key else record)
  return [path]


def test_models_of_the_stored_key_are_scored_on_the_embeddings(tmp_path):
  choose = signatures.SignatureChooser(_examples(str(tmp_path / 'x.gz'), [KEY, KEY]))
  assert choose(_model_dir(str(tmp_path / 'm')), 'served') == serving.TF_EXAMPLE_SIGNATURE
  assert choose(_model_dir(str(tmp_path / 'c'), KEY), 'candidate') == (
      serving.EMBEDDING_SIGNATURE)
  assert choose(_model_dir(str(tmp_path / 'o'), 'b' * 64), 'served') == (
      serving.TF_EXAMPLE_SIGNATURE)


def test_one_untrusted_record_sends_the_model_to_the_posters(tmp_path):
  for name, keys in (('stale', [KEY, 'b' * 64]), ('absent', [KEY, None])):
    choose = signatures.SignatureChooser(_examples(str(tmp_path / f'{name}.gz'), keys))
    assert choose(_model_dir(str(tmp_path / name), KEY), 'candidate') == (
        serving.TF_EXAMPLE_SIGNATURE)


def test_each_model_gets_its_own_signature_in_the_eval_config():
  config = eval_config.build_eval_config(3, signature=serving.EMBEDDING_SIGNATURE,
                                         baseline_signature=serving.TF_EXAMPLE_SIGNATURE)
  specs = {spec.name: spec for spec in config.model_specs}
  assert specs[tfma.CANDIDATE_KEY].signature_name == serving.EMBEDDING_SIGNATURE
  assert specs[tfma.BASELINE_KEY].signature_name == serving.TF_EXAMPLE_SIGNATURE
  assert specs[tfma.BASELINE_KEY].is_baseline
  [alone] = eval_config.build_eval_config(3, signature=serving.EMBEDDING_SIGNATURE).model_specs
  assert alone.signature_name == serving.EMBEDDING_SIGNATURE and not alone.name
