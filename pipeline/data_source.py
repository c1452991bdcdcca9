"""Resolves where the posters come from: a directory in the Kaggle layout, or a kagglehub
handle that is downloaded (and cached by kagglehub) before the pipeline is built.

kagglehub needs the network and Kaggle credentials (KAGGLE_USERNAME / KAGGLE_KEY or
~/.kaggle/kaggle.json); offline, pass the directory of an earlier download instead.
"""
import glob
import os
import re

KAGGLE_HANDLE = 'raman77768/movie-classifier'
# `owner/dataset` or `owner/dataset/versions/N`, optionally written `kaggle:owner/dataset`.
_HANDLE = re.compile(r'^(?:kaggle:)?([\w-]+/[\w.-]+(?:/versions/\d+)?)$')


class DataSourceError(ValueError):
  """The data location cannot be used."""


def is_remote_uri(location: str) -> bool:
  return re.match(r'^[a-z][a-z0-9+.-]*://', location) is not None


def kaggle_handle(location: str):
  """The kagglehub handle named by `location`, or None when it names a path.

  An existing local path always wins over a handle of the same spelling.
  """
  if is_remote_uri(location) or (os.path.exists(location)
                                 and not location.startswith('kaggle:')):
    return None
  match = _HANDLE.match(location)
  return match.group(1) if match else None


def _remote_glob(pattern: str):
  """tf.io.gfile.glob of a remote pattern; no network or no credentials is a DataSourceError.

  TensorFlow's GCS client finds no credentials quietly (it logs and goes on with an empty
  token), so Application Default Credentials are looked up first, to name that cause.
  """
  if pattern.startswith('gs://'):
    import google.auth  # pylint: disable=g-import-not-at-top
    from google.auth import exceptions as auth_exceptions  # pylint: disable=g-import-not-at-top
    try:
      google.auth.default()
    except auth_exceptions.DefaultCredentialsError:
      raise DataSourceError(
          f'Reading {pattern} needs Google Cloud credentials, and none were found: run '
          '`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS.'
      ) from None
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    return tf.io.gfile.glob(pattern)
  except tf.errors.OpError as error:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ''
    raise DataSourceError(f'Cannot read {pattern} ({type(error).__name__}: {first_line}); '
                          'check the network and the credentials\' access to it.') from None


def resolve_data_root(location: str, labels_file: str) -> str:
  """Returns a directory (local or remote URI) that holds `labels_file`: with a `{SPAN}`
  in it, at least one span's."""
  handle = kaggle_handle(location)
  if handle is not None:
    import kagglehub  # Imported here: only handles need it.
    try:
      root = kagglehub.dataset_download(handle)
    except Exception as error:  # kagglehub raises many types for network/auth problems.
      raise DataSourceError(
          f'kagglehub could not download {handle!r} ({type(error).__name__}: {error}). '
          'It needs the network and Kaggle credentials; offline, pass the directory of '
          'a downloaded copy instead.') from error
  else:
    root = location if is_remote_uri(location) else os.path.abspath(location)
  labels_path = os.path.join(root, labels_file)
  pattern = labels_path.replace('{SPAN}', '*')
  if is_remote_uri(root):
    exists = bool(_remote_glob(pattern))
  else:  # Checked without TensorFlow, so that a wrong local path fails at once.
    exists = bool(glob.glob(pattern))
  if not exists:
    raise DataSourceError(
        f'{location!r} is not a dataset in the Kaggle layout: {labels_path} is missing.')
  return root
