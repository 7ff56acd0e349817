"""Tables for people: the same rows as aligned text (terminal) and as HTML (notebook).

Pure Python, no IPython: Jupyter calls an object's ``_repr_html_`` when it displays
it, so returning a string from there is all a notebook needs.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

MAX_CELL_CHARS = 60  # longer values are cut short with an ellipsis


def shorten(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    caption: str = "",
    row_styles: Sequence[str] = (),
) -> str:
    """An HTML table; every cell is escaped. ``row_styles[k]`` (CSS) styles row k."""
    parts = ['<table style="border-collapse: collapse; text-align: left">']
    if caption:
        parts.append(f'<caption style="text-align: left">{html.escape(caption)}</caption>')
    parts.append("<thead><tr>")
    parts.extend(f'<th style="padding: 2px 8px">{html.escape(h)}</th>' for h in headers)
    parts.append("</tr></thead><tbody>")
    for k, row in enumerate(rows):
        style = row_styles[k] if k < len(row_styles) else ""
        parts.append(f'<tr style="{html.escape(style)}">' if style else "<tr>")
        parts.extend(
            f'<td style="padding: 2px 8px; vertical-align: top">{html.escape(cell)}</td>'
            for cell in row
        )
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
