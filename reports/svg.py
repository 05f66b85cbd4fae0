"""Draw bar charts as SVG on the server: no JavaScript, readable by screen readers.

Each chart carries a <title> and a <desc> naming what it shows; the page puts the
same figures in a table beside it. A suppressed bar (a group under 5 people) is
not drawn: its place is marked "< 5".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

PALETTE = ("#1f4e79", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")
_ids = count(1)


def _nice_max(value: float) -> float:
    """Return a round axis maximum at or above ``value``."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 < value:
        step *= 10
    for multiple in (1, 2, 2.5, 5, 10):
        if step * multiple >= value:
            return step * multiple
    return step * 10


def bar_chart(
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    suppressed_label: str = "< 5",
    width: int = 720,
    height: int = 300,
) -> Markup:
    """Return an SVG of grouped bars: one group per category, one bar per series."""
    chart_id = f"chart{next(_ids)}"
    left, right, top, bottom = 48, 12, 16, 64
    legend_height = 20 if len(series) > 1 else 0
    plot_w = width - left - right
    plot_h = height - top - bottom - legend_height
    values = [v for _label, vs in series for v in vs if v is not None]
    top_value = _nice_max(max(values, default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" '
        f'width="100%" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        '<g font-family="sans-serif" font-size="11" fill="#333">',
    ]
    value: float | None
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        label = f"{value:g}"
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    groups = max(len(categories), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    for g, category in enumerate(categories):
        x0 = left + g * group_w + group_w * 0.1
        for s, (label, vs) in enumerate(series):
            value = vs[g] if g < len(vs) else None
            x = x0 + s * bar_w
            colour = PALETTE[s % len(PALETTE)]
            if value is None:
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4:.1f}" '
                    f'text-anchor="middle" font-size="9">{escape(suppressed_label)}</text>'
                )
                continue
            h = plot_h * value / top_value
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(category)}, {escape(label)}: '
                f"{value:g}</title></rect>"
            )
        text = str(category)
        if len(text) > 14:
            text = text[:13] + "…"
        cx = left + g * group_w + group_w / 2
        cy = top + plot_h + 12
        rotate = f' transform="rotate(-30 {cx:.1f} {cy:.1f})"' if groups > 6 else ""
        anchor = "end" if groups > 6 else "middle"
        parts.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="{anchor}"{rotate}>{escape(text)}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#333"/>'
    )
    if len(series) > 1:
        x = left
        y = height - 8
        for s, (label, _vs) in enumerate(series):
            parts.append(
                f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
                f'fill="{PALETTE[s % len(PALETTE)]}"/>'
                f'<text x="{x + 14}" y="{y}">{escape(label)}</text>'
            )
            x += 24 + 7 * len(str(label))
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it was escaped above
