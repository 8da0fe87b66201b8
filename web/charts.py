"""Charts drawn on the server as inline SVG: numbers and labels in, markup out. No script,
no charting library, and no `style` attribute (the pages' Content-Security-Policy allows
stylesheets from the site only): shapes carry classes for `web/static/pages.css` and
presentation attributes that draw them plainly without it.

Every piece of text is escaped; every number is written by this module. The chart is one
image to assistive technology (`role="img"`, named by its `<title>` and `<desc>`); the
page beside it gives the same numbers as a table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

_ID = re.compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class ChartSize:
    """The drawing's own units (it scales to the width the stylesheet gives it)."""

    width: int = 600
    height: int = 160
    # Room for the axis labels: left of the bars, and under them.
    left: int = 36
    bottom: int = 22
    top: int = 8
    gap: float = 2.0


def _number(value: float) -> str:
    """A coordinate as SVG reads it: at most two decimals, no exponent."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(
    values: Sequence[int],
    labels: Sequence[str],
    *,
    title: str,
    description: str,
    chart_id: str,
    first_label: str | None = None,
    last_label: str | None = None,
    size: ChartSize | None = None,
) -> Markup:
    """A bar for each of `values` (counts, 0 or more), left to right, each with its label
    as a tooltip ("3 Dec: 4"). The highest bar is marked `peak`; a zero draws no bar but
    keeps its place on the baseline. The axis shows 0 and the highest value, and under
    it `first_label` and `last_label` (the ends of the span). `chart_id` (lowercase
    letters, digits, hyphens) makes the ids of the title and description, unique on the
    page."""
    if len(values) != len(labels):
        raise ValueError("a chart needs one label for each value")
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"not a usable id: {chart_id!r}")
    if any(value < 0 for value in values):
        raise ValueError("a bar chart of counts takes no negative value")
    size = size or ChartSize()
    plot_width = size.width - size.left
    plot_height = size.height - size.top - size.bottom
    baseline = size.top + plot_height
    highest = max(values, default=0)
    slot = plot_width / len(values) if values else plot_width
    bar_width = max(slot - size.gap, 1.0)

    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            'viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            'aria-labelledby="{id}-title {id}-desc" font-size="11">'
        ).format(w=size.width, h=size.height, id=chart_id),
        Markup('<title id="{}-title">{}</title>').format(chart_id, title),
        Markup('<desc id="{}-desc">{}</desc>').format(chart_id, description),
        Markup(
            '<line class="axis" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="currentColor" '
            'stroke-width="1"/>'
        ).format(x1=size.left, x2=size.width, y=baseline),
        _axis_text(size.left - 4, baseline, "0", "end"),
        _axis_text(size.left - 4, size.top + 8, str(highest), "end"),
    ]
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        height = plot_height * value / highest if highest else 0.0
        x = size.left + index * slot + size.gap / 2
        css_class = "bar peak" if value == highest and highest > 0 else "bar"
        parts.append(
            Markup(
                '<rect class="{cls}" x="{x}" y="{y}" width="{w}" height="{h}" '
                'fill="currentColor"><title>{label}: {value}</title></rect>'
            ).format(
                cls=css_class,
                x=_number(x),
                y=_number(baseline - height),
                w=_number(bar_width),
                h=_number(height),
                label=label,
                value=value,
            )
        )
    label_y = size.height - 6
    if first_label is not None:
        parts.append(_axis_text(size.left, label_y, first_label, "start"))
    if last_label is not None:
        parts.append(_axis_text(size.width, label_y, last_label, "end"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _axis_text(x: float, y: float, text: str, anchor: str) -> Markup:
    return Markup(
        '<text class="axis-label" x="{x}" y="{y}" text-anchor="{anchor}" '
        'fill="currentColor">{text}</text>'
    ).format(x=_number(x), y=_number(y), anchor=anchor, text=text)
