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

from components import artifact_files
from contract import vocabulary as genre_vocabulary
from models import settings
from models import data
from models import efficientnet_lite
from models import embeddings

EXAMPLES_KEY = 'examples'
TRANSFORM_GRAPH_KEY = 'transform_graph'
EMBEDDED_EXAMPLES_KEY = 'embedded_examples'
MODEL_NAME_KEY = 'model_name'
BATCH_SIZE_KEY = 'batch_size'
_RECORD_FILE = 'data_tfrecord-00000-of-00001.gz'


class Executor(base_executor.BaseExecutor):
  """Embeds every poster of one Examples artifact, every split."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    source = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
    target = artifact_utils.get_single_instance(output_dict[EMBEDDED_EXAMPLES_KEY])
    model_name = exec_properties[MODEL_NAME_KEY]
    variant = settings.MODEL_PRESETS[model_name].backbone
    if variant is None:
      raise ValueError(f'Model {model_name} has no frozen backbone, so no fixed per-poster '
                       'embedding to store.')
    batch_size = int(exec_properties[BATCH_SIZE_KEY])
    tft_output = tft.TFTransformOutput(
        artifact_utils.get_single_uri(input_dict[TRANSFORM_GRAPH_KEY]))
    image_shape = data.image_shape(tft_output)
    backbone = efficientnet_lite.build_backbone(variant, input_shape=image_shape)
    key = embeddings.embedding_key(variant, backbone, tft_output)

    splits = artifact_utils.decode_split_names(source.split_names)
    target.split_names = artifact_utils.encode_split_names(splits)
    target.span = source.span
    target.version = source.version
    examples_utils.set_payload_format(target, examples_utils.get_payload_format(source))
    examples_utils.set_file_format(target, examples_utils.get_file_format(source))
    genre_vocabulary.write_vocabulary(
        target.uri, genre_vocabulary.read_vocabulary(source.uri))

    summary = {'key': key, 'variant': variant, 'input_shape': list(image_shape),
               'span': source.span, 'splits': {}}
    options = artifact_files.record_options()
    for split in splits:
      files = data.matching_files(
          [os.path.join(artifact_utils.get_split_uri([source], split), '*')])
      split_dir = artifact_utils.get_split_uri([target], split)
      tf.io.gfile.makedirs(split_dir)
      records = 0
      with tf.io.TFRecordWriter(os.path.join(split_dir, _RECORD_FILE), options) as writer:
        for record, embedding in embeddings.embed_records(
            backbone, tft_output, files, batch_size,
            description=f'Embedding the {split} posters'):
          writer.write(embeddings.with_embedding(record, key, embedding))
          records += 1
      summary['splits'][split] = {'posters': records, 'backbone_views': records}
      logging.info('PosterEmbedder: span %d, split %s: %d posters embedded.',
                   source.span, split, records)
    with tf.io.gfile.GFile(os.path.join(target.uri, embeddings.SUMMARY_FILE), 'w') as f:
      json.dump(summary, f, indent=2)
    target.set_int_custom_property(
        'backbone_views', sum(s['backbone_views'] for s in summary['splits'].values()))
