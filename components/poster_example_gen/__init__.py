"""PosterExampleGen: posters + genre labels in the Kaggle layout -> TFRecord tf.Examples."""
