"""Server-side SVG charts for the HTML reports: small, static, no JavaScript.

Hand-built rather than a plotting library: two chart shapes are needed, and inline SVG
keeps a report a few kilobytes, works offline and needs no script under the page's CSP.
Every piece of text goes through `escape`; numbers are formatted by us.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

from evalkit.analysis.trend import TrendSeries

PASS_COLOR = "#2563eb"
BAND_COLOR = "#bfdbfe"
SCORE_COLOR = "#059669"
CHANGE_COLOR = "#9333ea"
ALERT_COLOR = "#dc2626"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def rate_bar(rate: float | None, low: float | None, high: float | None) -> Markup:
    """A 120x14 bar: the pass rate, with its interval as a whisker."""
    if rate is None:
        return Markup("")
    width = 120.0
    parts = [
        f'<svg class="bar" width="{width:.0f}" height="14" viewBox="0 0 {width:.0f} 14" '
        'role="img" aria-label="pass rate">',
        f'<rect x="0" y="3" width="{width:.0f}" height="8" fill="#e5e7eb"/>',
        f'<rect x="0" y="3" width="{rate * width:.1f}" height="8" fill="{PASS_COLOR}"/>',
    ]
    if low is not None and high is not None:
        x0, x1 = low * width, high * width
        parts.append(
            f'<path d="M{x0:.1f} 7H{x1:.1f}M{x0:.1f} 2V12M{x1:.1f} 2V12" '
            'stroke="#111827" stroke-width="1.2" fill="none"/>'
        )
    parts.append(f"<title>{escape(_pct(rate))} ({escape(_pct(low))}–{escape(_pct(high))})</title>")
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(series: TrendSeries, width: int = 720, height: int = 220) -> Markup:
    """Pass rate (with its 95% band) and mean score per run; config changes and alerts marked."""
    points = series.points
    left, right, top, bottom = 44, 44, 12, 34  # room for the last date label
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + (1 - v) * plot_h

    out = [
        f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="trend of {escape(series.key)}">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="#6b7280">{tick:.0%}</text>'
        )
    banded = [(i, p) for i, p in enumerate(points) if p.ci_low is not None]
    if banded:
        upper = " ".join(f"{x(i):.1f},{y(p.ci_high or 0):.1f}" for i, p in banded)
        lower = " ".join(f"{x(i):.1f},{y(p.ci_low or 0):.1f}" for i, p in reversed(banded))
        out.append(f'<polygon points="{upper} {lower}" fill="{BAND_COLOR}" opacity="0.7"/>')
    for i, p in enumerate(points):
        if p.config_changed:
            out.append(
                f'<line class="change" x1="{x(i) - step / 2:.1f}" x2="{x(i) - step / 2:.1f}" '
                f'y1="{top}" y2="{top + plot_h}" stroke="{CHANGE_COLOR}" stroke-dasharray="4 3">'
                f"<title>target config changed before run {escape(p.run_id)}</title></line>"
            )
    out.append(_polyline([(x(i), p.pass_rate) for i, p in enumerate(points)], y, PASS_COLOR, ""))
    out.append(
        _polyline([(x(i), p.mean_score) for i, p in enumerate(points)], y, SCORE_COLOR, "5 3")
    )
    alerted = bool(series.degradations)
    for i, p in enumerate(points):
        if p.pass_rate is None:
            continue
        last = i == len(points) - 1
        color = ALERT_COLOR if last and alerted else PASS_COLOR
        tip = (
            f"{p.run_id} · {p.started_at:%Y-%m-%d %H:%M} · pass {_pct(p.pass_rate)} "
            f"({_pct(p.ci_low)}–{_pct(p.ci_high)}, Wilson 95% CI over {p.graded} trials) · score "
            f"{'-' if p.mean_score is None else f'{p.mean_score:.2f}'}"
        )
        out.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.pass_rate):.1f}" r="{5 if last and alerted else 3}" '
            f'fill="{color}"><title>{escape(tip)}</title></circle>'
        )
    for i in _label_positions(len(points)):
        out.append(
            f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" font-size="10" '
            f'fill="#6b7280">{escape(f"{points[i].started_at:%m-%d %H:%M}")}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _polyline(
    values: list[tuple[float, float | None]], y: Callable[[float], float], color: str, dash: str
) -> str:
    coords = " ".join(f"{px:.1f},{y(v):.1f}" for px, v in values if v is not None)
    if not coords:
        return ""
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"{dashed}/>'


def _label_positions(count: int, most: int = 8) -> list[int]:
    """Indices of the x labels: at most `most`, always the first and the last."""
    if count <= most:
        return list(range(count))
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})
