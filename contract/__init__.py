"""The project's contract, at the bottom of its layers: it imports nothing of the project.

  features    feature keys of the examples PosterExampleGen writes, and the transformed keys
  vocabulary  the genre vocabulary: decided once at ingest, read by everyone the same way
  images      the image check every poster passes at ingest (and the CLI before sending)
  serving     the serving signature's inputs, outputs and per-poster statuses, for clients
  nodes       the pipeline's node ids and output keys, for whoever reads its outputs

Layers import downwards only: contract <- models <- components <- pipeline <- runners, with
reports/ and poster_predict/ (the CLIs) as leaves; tests/test_layering.py enforces it.
"""
