"""Which signature TFMA scores each model through: the head alone on the stored embedding
wherever that can be trusted, the whole model on the poster otherwise.

PosterEmbedder stores every poster's embedding in the examples the Evaluators read, so a
model on the same frozen backbone and preprocessing needs only its head to score them
(`embedding_tf_example`, models/export.py): the candidate and the served model then share
the run's one backbone pass per poster. A model is scored that way only if its
`assets/embedding_key.txt` names the key of every evaluated record's entry and every entry's
checksum holds (models/embeddings.py); otherwise (a model of another backbone or
preprocessing, one exported without the signature, examples without entries or with a
corrupt one) it is scored on the posters through `serving_tf_example`, and the log says why.
"""
from typing import Dict, List

from absl import logging

from contract import serving
from models import embeddings
from models import export


class SignatureChooser:
  """Chooses per model dir; the examples are checked once per embedding key."""

  def __init__(self, file_patterns: List[str]):
    self._file_patterns = file_patterns
    self._untrusted: Dict[str, Dict[str, int]] = {}

  def __call__(self, model_dir: str, role: str) -> str:
    key = export.read_embedding_key(model_dir)
    if key is None:
      logging.info('The %s model (%s) has no head signature: scored on the posters.', role,
                   model_dir)
      return serving.TF_EXAMPLE_SIGNATURE
    if key not in self._untrusted:
      self._untrusted[key] = embeddings.untrusted_records(self._file_patterns, key)
    untrusted = self._untrusted[key]
    if untrusted:
      logging.warning('The %s model (%s) is scored on the posters, not on the stored '
                      'embeddings: records whose entry cannot be trusted for it: %s.', role,
                      model_dir, ', '.join(f'{n} {cause}' for cause, n in
                                           sorted(untrusted.items())))
      return serving.TF_EXAMPLE_SIGNATURE
    logging.info('The %s model (%s) is scored on the stored embeddings.', role, model_dir)
    return serving.EMBEDDING_SIGNATURE
