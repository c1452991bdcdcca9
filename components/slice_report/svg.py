"""Inline SVG charts on the unit square: no plotting library, no network, any browser.

Both axes of every chart here run over [0, 1] (recall/precision, predicted/observed rate),
so one small coordinate helper serves them all.
"""
import dataclasses
import html
from typing import List, Optional, Sequence, Tuple

Point = Tuple[float, float]


@dataclasses.dataclass(frozen=True)
class Frame:
  """A chart area of `size` px with a margin for the axis labels."""
  size: int = 220
  margin: int = 30

  @property
  def span(self) -> int:
    return self.size - 2 * self.margin

  def x(self, value: float) -> float:
    return self.margin + min(max(value, 0.0), 1.0) * self.span

  def y(self, value: float) -> float:
    return self.size - self.margin - min(max(value, 0.0), 1.0) * self.span

  def path(self, points: Sequence[Point]) -> str:
    return ' '.join(f'{"M" if i == 0 else "L"}{self.x(px):.1f},{self.y(py):.1f}'
                    for i, (px, py) in enumerate(points))


def _axes(frame: Frame, x_label: str, y_label: str) -> List[str]:
  m, s, span = frame.margin, frame.size, frame.span
  parts = [f'<rect x="{m}" y="{m}" width="{span}" height="{span}" class="plot-area"/>']
  for tick in (0.0, 0.5, 1.0):
    parts.append(f'<text x="{frame.x(tick):.1f}" y="{s - m + 12}" class="tick" '
                 f'text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text x="{m - 4}" y="{frame.y(tick) + 3:.1f}" class="tick" '
                 f'text-anchor="end">{tick:g}</text>')
  parts.append(f'<text x="{m + span / 2:.1f}" y="{s - 4}" class="axis-label" '
               f'text-anchor="middle">{html.escape(x_label)}</text>')
  parts.append(f'<text x="10" y="{m + span / 2:.1f}" class="axis-label" text-anchor="middle" '
               f'transform="rotate(-90 10 {m + span / 2:.1f})">{html.escape(y_label)}</text>')
  return parts


def _svg(frame: Frame, title: str, parts: List[str], css_class: str) -> str:
  return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" '
          f'viewBox="0 0 {frame.size} {frame.size}" width="{frame.size}" '
          f'height="{frame.size}" role="img" aria-label="{html.escape(title)}">'
          f'<title>{html.escape(title)}</title>'
          f'<text x="{frame.size / 2}" y="16" class="chart-title" text-anchor="middle">'
          f'{html.escape(title)}</text>{"".join(parts)}</svg>')


def pr_curve(title: str, recall_precision: Sequence[Point], operating_point: Optional[Point],
             operating_label: str, prevalence: Optional[float] = None,
             frame: Frame = Frame()) -> str:
  """Precision (y) against recall (x); the operating point of the model's own decisions is
  marked, and a dashed line shows the precision of guessing (the genre's prevalence)."""
  parts = _axes(frame, 'recall', 'precision')
  if prevalence is not None:
    parts.append(f'<path d="{frame.path([(0, prevalence), (1, prevalence)])}" '
                 'class="chance"><title>precision of guessing: '
                 f'{prevalence:.3f}</title></path>')
  if recall_precision:
    parts.append(f'<path d="{frame.path(recall_precision)}" class="curve"/>')
  if operating_point is not None:
    x, y = frame.x(operating_point[0]), frame.y(operating_point[1])
    parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="operating-point">'
                 f'<title>{html.escape(operating_label)}</title></circle>')
  return _svg(frame, title, parts, 'chart pr-curve')


def calibration(title: str, buckets: Sequence[Tuple[float, float, float]],
                frame: Frame = Frame(size=320, margin=36)) -> str:
  """Observed positive rate (y) against mean predicted score (x), one dot per score bucket
  sized by its number of (poster, genre) pairs; the diagonal is perfect calibration.
  `buckets`: (mean score, observed rate, count)."""
  parts = _axes(frame, 'mean predicted score', 'observed positive rate')
  parts.append(f'<path d="{frame.path([(0, 0), (1, 1)])}" class="chance"/>')
  largest = max((count for _, _, count in buckets), default=1.0) or 1.0
  ordered = sorted(buckets)
  parts.append(f'<path d="{frame.path([(p, o) for p, o, _ in ordered])}" class="curve"/>')
  for predicted, observed, count in ordered:
    radius = 2.5 + 6.0 * (count / largest) ** 0.5
    parts.append(f'<circle cx="{frame.x(predicted):.1f}" cy="{frame.y(observed):.1f}" '
                 f'r="{radius:.1f}" class="bucket"><title>mean score {predicted:.3f}, '
                 f'observed {observed:.3f}, {count:g} pairs</title></circle>')
  return _svg(frame, title, parts, 'chart calibration')
