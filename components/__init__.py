"""Custom TFX components of the poster-genre pipeline.

Each component keeps its logic in plain, unit-tested Python modules and wraps them in a thin
TFX component + Beam executor, so the same code runs locally and on Dataflow.
"""

# Custom artifact types, importable as `components.<Class>`: their TYPE_NAME (see there).
from components.poster_example_gen.component import IngestReport  # pylint: disable=g-import-not-at-top,wrong-import-position
