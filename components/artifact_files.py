"""File helpers shared by the executors (local paths and gs:// alike, through tf.io.gfile)."""
import os

import tensorflow as tf


def copy_tree(source: str, destination: str) -> None:
  """Copies the directory `source` into `destination`, creating it, overwriting files."""
  for directory, _, files in tf.io.gfile.walk(source):
    target = os.path.join(destination, os.path.relpath(directory, source))
    tf.io.gfile.makedirs(target)
    for name in files:
      tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name),
                       overwrite=True)
