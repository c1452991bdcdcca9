"""Custom TFX components of the poster-genre pipeline.

Each component keeps its logic in plain, unit-tested Python modules and wraps them in a thin
TFX component + Beam executor, so the same code runs locally and on Dataflow.
"""
