"""Frozen-backbone training: embed each distinct poster once, head, composition."""
import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from contract import features
from models import settings as model_config
from models import data
from models import efficientnet_lite
from models import transfer
from tests import synthetic


def _example(poster_id, labels, seed):
  feature = {
      features.ID: tf.train.Feature(bytes_list=tf.train.BytesList(value=[poster_id])),
      features.IMAGE: tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[synthetic.poster_bytes(seed=seed)])),
      features.LABELS: tf.train.Feature(int64_list=tf.train.Int64List(value=labels)),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.fixture
def oversampled_split(tmp_path):
  """Records as the oversampler writes them: poster b three times, a and c once."""
  records = [(b'a', [1, 0], 0), (b'b', [0, 1], 1), (b'b', [0, 1], 1), (b'c', [1, 1], 2),
             (b'b', [0, 1], 1)]
  path = str(tmp_path / 'Split-train' / 'data.gz')
  os.makedirs(os.path.dirname(path))
  with tf.io.TFRecordWriter(path, options='GZIP') as writer:
    for poster_id, labels, seed in records:
      writer.write(_example(poster_id, labels, seed))
  return [os.path.join(os.path.dirname(path), '*')]


def test_poster_index_maps_repeated_records_to_one_poster(oversampled_split):
  index = data.poster_index(oversampled_split, num_genres=2)
  assert index.num_posters == 3
  assert index.record_poster.tolist() == [0, 1, 1, 2, 1]
  assert index.first_record.tolist() == [True, True, False, True, False]
  assert index.labels.tolist() == [[1, 0], [0, 1], [1, 1]]


class _IdentityTransform:
  """Stands in for a TFTransformOutput whose graph decodes and resizes like the real one."""

  def transform_features_layer(self):
    import transform_module  # pylint: disable=g-import-not-at-top
    config = {'image_height': 24, 'image_width': 16, 'resize_policy': 'pad',
              'normalization': 'symmetric'}
    return lambda raw: transform_module.preprocessing_fn(raw, config)


def test_keep_mask_reads_each_distinct_poster_once_in_order(oversampled_split):
  index = data.poster_index(oversampled_split, num_genres=2)
  dataset = data.make_dataset(oversampled_split, _IdentityTransform(), 2, batch_size=2,
                              shuffle=False, keep=index.first_record)
  labels = np.concatenate([batch_labels.numpy() for _, batch_labels in dataset])
  np.testing.assert_array_equal(labels, index.labels)


@pytest.mark.parametrize('keep', [None, np.array([True, True, False, True, False])])
def test_training_input_runs_without_autotuning(oversampled_split, keep):
  # tf.data's autotuning thread can hold an iterator's destructor for up to a minute after
  # a long read (models.data.records); every read of the Trainer's input must leave it off.
  dataset = data.make_dataset(oversampled_split, _IdentityTransform(), 2, batch_size=2,
                              shuffle=keep is None, keep=keep)
  assert dataset.options().autotune.enabled is False
  assert sum(int(images.shape[0]) for images, _ in dataset) == (
      5 if keep is None else int(keep.sum()))


def test_embed_pads_the_last_batch_and_returns_every_poster_once():
  backbone = efficientnet_lite.build_backbone('lite0', input_shape=(32, 24, 3), weights=None)
  images = tf.random.stateless_uniform((3, 32, 24, 3), seed=(1, 2), minval=-1, maxval=1)
  labels = tf.zeros((3, 2))
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
  embeddings = transfer.embed(backbone, dataset)
  np.testing.assert_allclose(embeddings, backbone(images, training=False).numpy(),
                             rtol=1e-4, atol=1e-5)
  alone = transfer.embed(backbone, dataset.map(lambda image, _: image))
  np.testing.assert_allclose(alone, embeddings, rtol=1e-5, atol=1e-6)


def test_composed_model_is_the_head_on_the_backbone():
  backbone = efficientnet_lite.build_backbone('lite0', input_shape=(32, 24, 3), weights=None)
  head = transfer.build_head(backbone.output_shape[-1], 4,
                             transfer.HeadConfig.of(model_config.TrainerConfig()))
  model = transfer.compose(backbone, head, name='test')
  images = tf.random.stateless_uniform((2, 32, 24, 3), seed=(3, 4), minval=-1, maxval=1)
  np.testing.assert_allclose(model(images, training=False).numpy(),
                             head(backbone(images, training=False)).numpy(),
                             rtol=1e-4, atol=1e-6)


def test_head_learns_separable_embeddings():
  rng = np.random.default_rng(0)
  labels = (rng.random((400, 3)) < 0.3).astype(np.int64)
  embeddings = labels * 3.0 + rng.normal(0, 0.3, labels.shape)
  config = dataclasses.replace(transfer.HeadConfig.of(model_config.TrainerConfig()),
                               hidden_units=16, epochs=30, learning_rate=0.05,
                               early_stopping_patience=30, top_features=None)
  head = transfer.train_head(embeddings[:300], labels[:300], embeddings[300:], labels[300:],
                             config)
  scores = head(embeddings[300:], training=False).numpy()
  assert ((scores > 0.5) == labels[300:]).mean() > 0.95


def test_every_model_a_setting_can_name_has_a_trainer():
  from models import trainer  # pylint: disable=g-import-not-at-top
  assert set(trainer.MODELS) == set(model_config.MODEL_NAMES)


def _tiny_model(num_genres=3):
  backbone = efficientnet_lite.build_backbone('lite0', input_shape=(32, 24, 3), weights=None)
  head = transfer.build_head(backbone.output_shape[-1], num_genres,
                             transfer.HeadConfig.of(model_config.TrainerConfig()))
  return backbone, transfer.compose(backbone, head, name='test')


def test_unfreezing_the_top_trains_its_blocks_and_head_conv_but_no_batch_norm():
  backbone, _ = _tiny_model()
  transfer.unfreeze_top(backbone, 5)
  trainable = {w.name.split('/')[0] for w in backbone.trainable_weights}
  assert trainable
  assert all(name.startswith(('block11_', 'block12_', 'block13_', 'block14_', 'block15_',
                              'head_')) for name in trainable), trainable
  assert not any('_bn' in name for name in trainable)
  assert any(name.startswith('block11_') for name in trainable)
  assert any(name.startswith('head_') for name in trainable)
  with pytest.raises(ValueError, match='has 16'):
    transfer.unfreeze_top(backbone, 17)


def test_augmented_posters_keep_their_shape_labels_and_range_and_differ():
  images = tf.random.stateless_uniform((4, 32, 24, 3), seed=(1, 2), minval=-1, maxval=1)
  labels = tf.constant([[1.0, 0.0]] * 4)
  dataset = tf.data.Dataset.from_tensors((images, labels)).repeat(2)
  first, second = [(a.numpy(), b.numpy())
                   for a, b in transfer.augmented(dataset, min_crop=0.8, seed=0)]
  assert first[0].shape == (4, 32, 24, 3)
  np.testing.assert_array_equal(first[1], labels.numpy())
  assert first[0].min() >= -1.0 - 1e-5 and first[0].max() <= 1.0 + 1e-5
  # Each pass draws new views of the same posters.
  assert not np.allclose(first[0], second[0])
  assert not np.allclose(first[0], images.numpy())


def test_fine_tuning_moves_only_the_top_and_the_head_and_keeps_the_best_weights():
  tf.keras.utils.set_random_seed(0)
  backbone, model = _tiny_model()
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (48, 32, 24, 3)).astype(np.float32)
  labels = (rng.random((48, 3)) < 0.4).astype(np.float32)
  train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
  evaluation = tf.data.Dataset.from_tensor_slices((images[:16], labels[:16])).batch(16)
  frozen_before = {w.name: w.numpy() for w in backbone.weights
                   if not w.name.startswith(('block11_', 'block12_', 'block13_',
                                             'block14_', 'block15_', 'head_'))
                   or '_bn' in w.name}
  model_before = [w.copy() for w in model.get_weights()]
  config = transfer.FineTuneConfig(blocks=5, learning_rate=1e-2, epochs=2,
                                   early_stopping_patience=2)
  kept = transfer.fine_tune(model, backbone, train, evaluation, config, seed=0)
  for w in backbone.weights:
    if w.name in frozen_before:
      np.testing.assert_array_equal(w.numpy(), frozen_before[w.name], err_msg=w.name)
  changed = any(not np.array_equal(a, b) for a, b in zip(model_before, model.get_weights()))
  # Kept: some weights moved; not kept: every weight is back where it started.
  assert changed == kept


def test_several_head_members_are_trained_apart_and_their_scores_averaged():
  rng = np.random.default_rng(1)
  labels = (rng.random((200, 3)) < 0.3).astype(np.int64)
  embeddings = (labels * 2.0 + rng.normal(0, 0.5, labels.shape)).astype(np.float32)
  config = dataclasses.replace(transfer.HeadConfig.of(model_config.TrainerConfig()),
                               hidden_units=8, epochs=3, members=3, top_features=None)
  tf.keras.utils.set_random_seed(0)
  heads = transfer.train_head(embeddings[:150], labels[:150], embeddings[150:], labels[150:],
                              config)
  members = [layer for layer in heads.layers if isinstance(layer, tf.keras.Model)]
  assert [m.name for m in members] == ['genre_head_0', 'genre_head_1', 'genre_head_2']
  scores = [m(embeddings[150:], training=False).numpy() for m in members]
  # Different initialisations: different heads.
  assert not np.allclose(scores[0], scores[1])
  np.testing.assert_allclose(heads(embeddings[150:], training=False).numpy(),
                             np.mean(scores, axis=0), rtol=1e-5, atol=1e-7)
  single = transfer.train_head(embeddings[:150], labels[:150], embeddings[150:], labels[150:],
                               dataclasses.replace(config, members=1))
  assert single.name == 'genre_head'


def test_on_a_frozen_backbone_each_member_is_a_head_on_the_top_features_and_one_with_the_blocks():
  config = transfer.HeadConfig.of(model_config.TrainerConfig())
  assert config.top_features == efficientnet_lite.TOP_FEATURES
  assert transfer.HeadConfig.of(model_config.TrainerConfig(model_name='simple_cnn')
                                ).top_features is None
  rng = np.random.default_rng(2)
  labels = (rng.random((120, 3)) < 0.3).astype(np.int64)
  top = (labels * 2.0 + rng.normal(0, 0.5, labels.shape)).astype(np.float32)
  blocks = rng.normal(50.0, 10.0, (120, 2)).astype(np.float32)
  embeddings = np.concatenate([top, blocks], axis=1)
  config = dataclasses.replace(config, hidden_units=8, epochs=2, members=2, top_features=3)
  heads = transfer.train_head(embeddings[:90], labels[:90], embeddings[90:], labels[90:],
                              config)
  members = [layer for layer in heads.layers if isinstance(layer, tf.keras.Model)]
  assert [m.name for m in members] == ['genre_head_0_0', 'genre_head_0_1', 'genre_head_1_0',
                                       'genre_head_1_1']
  moved = embeddings[90:].copy()
  moved[:, 3:] += 100.0
  for member in members:
    with_blocks = member.name.endswith('_1')
    changed = not np.allclose(member(embeddings[90:], training=False).numpy(),
                              member(moved, training=False).numpy())
    assert changed == with_blocks, member.name
    if with_blocks:
      # The block features are standardized by their moments on the training rows.
      standardized = member.get_layer('block_standardized')
      np.testing.assert_allclose(standardized(embeddings[:90, 3:]).numpy().mean(axis=0), 0,
                                 atol=1e-4)
  with pytest.raises(ValueError, match='no pooled block features'):
    transfer.build_head(3, 3, config)


def test_out_of_fold_scores_come_from_members_that_never_saw_the_poster(monkeypatch):
  posters = 40
  embeddings = np.arange(posters, dtype=np.float32)[:, np.newaxis]
  labels = np.zeros((posters, 2), np.int64)
  rows = np.repeat(np.arange(posters), 2)  # Every poster twice, as oversampled copies.
  trained_on = []

  def fake_train_head(train, train_labels, evaluation, eval_labels, config, description):
    assert config.members == 1 and 'out-of-fold' in description
    trained_on.append(set(train[:, 0].astype(int)))
    member = len(trained_on)
    return lambda x, training: tf.fill((len(x), 2), float(member))

  monkeypatch.setattr(transfer, 'train_head', fake_train_head)
  config = transfer.HeadConfig.of(model_config.TrainerConfig())
  scores = transfer.out_of_fold_scores(embeddings, labels, rows, embeddings[:5], labels[:5],
                                       config, folds=4, seed=0)
  assert len(trained_on) == 4
  for poster in range(posters):
    member = int(scores[poster, 0])
    assert poster not in trained_on[member - 1]
    # Every other fold's posters trained it.
    assert len(trained_on[member - 1]) == posters - sum(
        int(scores[other, 0]) == member for other in range(posters))


def test_the_rule_is_tuned_on_eval_with_the_out_of_fold_train_scores_before_it():
  from models import trainer  # pylint: disable=g-import-not-at-top
  labels, scores = np.eye(2, dtype=np.int64), np.full((2, 2), 0.5)
  alone = trainer.Trained(model=None, labels=labels, scores=scores)
  np.testing.assert_array_equal(alone.tuning_data()[1], scores)
  train_labels, train_scores = np.ones((3, 2), np.int64), np.full((3, 2), 0.9)
  pooled_labels, pooled_scores = dataclasses.replace(
      alone, out_of_fold=(train_labels, train_scores)).tuning_data()
  np.testing.assert_array_equal(pooled_labels, np.concatenate([train_labels, labels]))
  np.testing.assert_array_equal(pooled_scores, np.concatenate([train_scores, scores]))
