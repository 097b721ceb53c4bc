"""Server-side SVG bar charts for the reviewers' dashboards (no JavaScript, no CDN).

Only numbers and fixed labels reach the SVG; every label is XML-escaped anyway.
"""

from __future__ import annotations

from xml.sax.saxutils import escape


def bar_chart(
    bars: list[tuple[str, list[tuple[int, str]]]], *, title: str, width: int = 560, height: int = 180
) -> str:
    """``bars``: [(label, [(value, css_class), ...stacked])]; returns an accessible <svg>."""
    pad_left, pad_bottom, pad_top = 28, 22, 10
    inner_w, inner_h = width - pad_left - 6, height - pad_bottom - pad_top
    top = max([sum(v for v, _ in stack) for _, stack in bars] + [1])
    n = max(len(bars), 1)
    slot = inner_w / n
    bar_w = max(2.0, slot * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - 6}" y2="{pad_top + inner_h}"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 8}" text-anchor="end">{top}</text>',
        f'<text x="{pad_left - 4}" y="{pad_top + inner_h}" text-anchor="end">0</text>',
    ]
    label_every = max(1, n // 10)
    for i, (label, stack) in enumerate(bars):
        x = pad_left + i * slot + (slot - bar_w) / 2
        y = pad_top + inner_h
        for value, css in stack:
            h = inner_h * value / top
            y -= h
            if value:
                parts.append(
                    f'<rect class="bar {escape(css)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)}: {value}</title></rect>'
                )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
