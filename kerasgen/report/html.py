"""Pieces of a self-contained HTML page: escaped tables, PNGs as data: URIs, sections, the page.

Nothing here refers to anything outside the page: the style sheet is inline, images are `data:`
URIs, charts are inline SVG. Every text passed in is escaped (`html.escape`) unless a function says
it takes markup.
"""

from __future__ import annotations

import base64
import io
import json
from html import escape

from PIL import Image

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 1.6em; }
p.sub, p.note { color: #555; } p.note { font-style: italic; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd; padding: 3px 8px;
  text-align: left; vertical-align: top; } th { background: #f4f4f4; }
td code { white-space: pre-wrap; word-break: break-all; }
.charts, .figures { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; text-align: center; } figcaption { font-size: 0.85em; color: #555; }
img.pixels { image-rendering: pixelated; border: 1px solid #ddd; max-width: 100%; height: auto; }
"""


def text(value) -> str:
    """A value as escaped text: strings as they are, anything else as compact JSON."""
    raw = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return escape(raw)


def table(header, rows, code_columns=()) -> str:
    """An HTML table of escaped cells (rows of values; non-strings shown as JSON); the columns whose
    index is in `code_columns` are set as `<code>`."""
    head = "".join(f"<th>{text(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = [f"<code>{text(v)}</code>" if i in code_columns else text(v) for i, v in enumerate(row)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def png_bytes(image: Image.Image) -> bytes:
    """A PIL image encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """`data:image/png;base64,...` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, caption: str, alt: str | None = None, css_class: str = "pixels") -> str:
    """A `<figure>` with the PNG embedded (its width and height from the image) and an escaped caption."""
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    return (f'<figure><img class="{escape(css_class)}" src="{data_uri(png)}" width="{width}" height="{height}" '
            f'alt="{escape(alt or caption)}"><figcaption>{escape(caption)}</figcaption></figure>')


def note(message: str) -> str:
    """An escaped paragraph of class "note"."""
    return f'<p class="note">{escape(message)}</p>'


def section(title: str, body: str, anchor: str) -> str:
    """A `<section id=anchor>` with an escaped `<h2>` title; `body` is markup."""
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def page(title: str, subtitle: str, sections) -> str:
    """The whole document: escaped title and subtitle, then the sections' markup in order."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n<p class=\"sub\">{escape(subtitle)}</p>\n"
            + "\n".join(sections) + "\n</body>\n</html>\n")
