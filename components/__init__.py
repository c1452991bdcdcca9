"""Custom TFX components of the poster-genre pipeline.

Each component keeps its logic in plain, unit-tested Python modules and wraps them in a thin
TFX component + Beam executor, so the same code runs locally and on Dataflow.
"""


def __getattr__(name: str):
  """Custom artifact types, reachable as `components.<Class>`, the form their TYPE_NAME takes.

  The Kubeflow V2 / Vertex AI launcher imports an artifact's class by its TYPE_NAME. Resolving
  it lazily keeps `import components.<plain-Python core>` free of TFX and Beam.
  """
  if name == 'IngestSummary':
    from components.poster_example_gen import component  # pylint: disable=g-import-not-at-top
    return component.IngestSummary
  if name == 'SpanWindow':
    from components.span_window import component  # pylint: disable=g-import-not-at-top
    return component.SpanWindow
  if name == 'SliceReportHtml':
    from components.slice_report import component  # pylint: disable=g-import-not-at-top
    return component.SliceReportHtml
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
