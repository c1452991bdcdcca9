"""SpanWindow's executor: the new span into the window; the window's examples as one artifact."""
import os
from typing import Any, Dict, List

from absl import logging
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components import artifact_files
from components.span_window import manifest
from contract import vocabulary as genre_vocabulary

EXAMPLES_KEY = manifest.EXAMPLES
EMBEDDED_EXAMPLES_KEY = manifest.EMBEDDED_EXAMPLES
WINDOW_DIR_KEY = 'window_dir'
NUM_SPANS_KEY = 'num_spans'
WINDOW_KEY = 'window'
WINDOW_EXAMPLES_KEY = 'window_examples'


class Executor(base_executor.BaseExecutor):
  """Publishes the window with the new span in; writes its manifest and its examples."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    new = {key: artifact_utils.get_single_instance(input_dict[key]) for key in manifest.KEYS}
    examples = new[EXAMPLES_KEY]
    entry = manifest.Span(
        span=int(examples.span), version=int(examples.version),
        uris={key: artifact.uri for key, artifact in new.items()},
        split_names={key: artifact_utils.decode_split_names(artifact.split_names)
                     for key, artifact in new.items()})
    window_dir = exec_properties[WINDOW_DIR_KEY]
    window = manifest.updated(manifest.latest(window_dir), entry,
                              int(exec_properties[NUM_SPANS_KEY]))
    manifest.check_present(window)

    window_artifact = artifact_utils.get_single_instance(output_dict[WINDOW_KEY])
    manifest.write(os.path.join(window_artifact.uri, manifest.MANIFEST_FILE), window)
    window_artifact.set_int_custom_property('spans', len(window))
    window_artifact.set_string_custom_property('span_numbers',
                                               ','.join(str(e.span) for e in window))

    # One Examples artifact for the Evaluators and the report, which read one: every span's
    # embedded files, copied (about 35 kB a poster; on Cloud Storage the copy stays in the
    # bucket). The oversampler reads them in place, through the manifest.
    embedded = new[EMBEDDED_EXAMPLES_KEY]
    sources = manifest.window_artifacts(window_artifact.uri, EMBEDDED_EXAMPLES_KEY)
    split_names = entry.split_names[EMBEDDED_EXAMPLES_KEY]
    for source in sources:
      if artifact_utils.decode_split_names(source.split_names) != split_names:
        raise manifest.WindowError(f'Span {source.span}\'s embedded examples have the '
                                   f'splits {source.split_names}, span {entry.span}\'s '
                                   f'{split_names}.')
    target = artifact_utils.get_single_instance(output_dict[WINDOW_EXAMPLES_KEY])
    target.split_names = artifact_utils.encode_split_names(split_names)
    target.span, target.version = entry.span, entry.version
    examples_utils.set_payload_format(target, examples_utils.get_payload_format(embedded))
    examples_utils.set_file_format(target, examples_utils.get_file_format(embedded))
    genre_vocabulary.write_vocabulary(
        target.uri, genre_vocabulary.read_window_vocabulary([s.uri for s in sources]))
    for split in split_names:
      for source in sources:
        artifact_files.copy_split(artifact_utils.get_split_uri([source], split),
                                  artifact_utils.get_split_uri([target], split),
                                  prefix=f'span-{source.span}-')
    # Last: a failure above leaves the previous window in place for the next run.
    manifest.publish(window_dir, window)
    logging.info('SpanWindow: spans %s (newest %d) published to %s.',
                 ', '.join(str(e.span) for e in window), entry.span, window_dir)
