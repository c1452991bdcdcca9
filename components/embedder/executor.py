"""Executor of PosterEmbedder: a thin shell around models/embeddings.py."""
import json
import os
from typing import Any, Dict, List

from absl import logging
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from contract import vocabulary as genre_vocabulary
from models import config as settings
from models import data
from models import efficientnet_lite
from models import embeddings

EXAMPLES_KEY = 'examples'
TRANSFORM_GRAPH_KEY = 'transform_graph'
EMBEDDED_EXAMPLES_KEY = 'embedded_examples'
TRAINER_CONFIG_KEY = 'trainer_config'

# What the Trainer reads: its training split and the split it stops early and tunes on.
SPLITS = ('train', 'eval')
_RECORD_FILE = 'data_tfrecord-00000-of-00001.gz'


class Executor(base_executor.BaseExecutor):
  """Embeds every train and eval poster of one Examples artifact."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    source = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
    target = artifact_utils.get_single_instance(output_dict[EMBEDDED_EXAMPLES_KEY])
    config = settings.from_custom_config(settings.TrainerConfig,
                                         json.loads(exec_properties[TRAINER_CONFIG_KEY]))
    if not config.frozen_backbone:
      raise ValueError(f'Model {config.model_name} with {config.unfreeze_top_blocks} '
                       'fine-tuned blocks has no fixed per-poster embedding to store.')
    tft_output = tft.TFTransformOutput(
        artifact_utils.get_single_uri(input_dict[TRANSFORM_GRAPH_KEY]))
    image_shape = data.image_shape(tft_output)
    variant = config.preset.backbone
    backbone = efficientnet_lite.build_backbone(variant, input_shape=image_shape)
    key = embeddings.embedding_key(variant, backbone, tft_output)

    target.split_names = artifact_utils.encode_split_names(list(SPLITS))
    target.span = source.span
    target.version = source.version
    examples_utils.set_payload_format(target, examples_utils.get_payload_format(source))
    examples_utils.set_file_format(target, examples_utils.get_file_format(source))
    genre_vocabulary.write_vocabulary(
        target.uri, genre_vocabulary.read_vocabulary(source.uri))

    summary = {'key': key, 'variant': variant, 'input_shape': list(image_shape),
               'span': source.span, 'splits': {}}
    options = tf.io.TFRecordOptions(compression_type='GZIP')
    for split, with_mirror in config.mirror_views.items():
      files = data.matching_files(
          [os.path.join(artifact_utils.get_split_uri([source], split), '*')])
      split_dir = artifact_utils.get_split_uri([target], split)
      tf.io.gfile.makedirs(split_dir)
      views = ' and their mirror images' if with_mirror else ''
      records = 0
      with tf.io.TFRecordWriter(os.path.join(split_dir, _RECORD_FILE), options) as writer:
        for record, embedding, mirror in embeddings.embed_records(
            backbone, tft_output, files, config.batch_size, with_mirror,
            description=f'Embedding the {split} posters{views}'):
          writer.write(embeddings.with_embedding(record, key, embedding, mirror))
          records += 1
      summary['splits'][split] = {
          'posters': records, 'backbone_views': records * (2 if with_mirror else 1)}
      logging.info('PosterEmbedder: span %d, split %s: %d posters embedded%s.',
                   source.span, split, records, views)
    with tf.io.gfile.GFile(os.path.join(target.uri, embeddings.SUMMARY_FILE), 'w') as f:
      json.dump(summary, f, indent=2)
    target.set_int_custom_property(
        'backbone_views', sum(s['backbone_views'] for s in summary['splits'].values()))
