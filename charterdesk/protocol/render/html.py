"""The handbook as HTML: a standalone document (cover, contents, sections, stylesheet) or
a body fragment for the desk's own pages. The PDF is printed from the standalone document."""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from ..models import Protocol
from .markdown import cover_lines
from .sections import HandbookSection, build_sections


@cache
def stylesheet() -> str:
    """``handbook.css``: screen and print rules, scoped to ``.handbook``."""
    return Path(__file__).with_name("handbook.css").read_text(encoding="utf-8")


def footer_text(protocol: Protocol) -> str:
    """``Acme Outdoor Gear — Customer Support Protocol — version 3.2``: every printed page's footer."""
    return f"{protocol.company} — {protocol.title} — version {protocol.version}"


def css_string(text: str) -> str:
    """A CSS string literal that holds ``text`` and cannot end the <style> element."""
    out = []
    for char in text:
        if char in '"\\<>&' or ord(char) < 32:
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _page_css(protocol: Protocol) -> str:
    return (
        "@page { @bottom-left { content: " + css_string(footer_text(protocol)) + "; } }\n"
        "@page :first { @bottom-left { content: none; } @bottom-right { content: none; } }\n"
    )


def render_html(protocol: Protocol, *, standalone: bool = True) -> str:
    sections = build_sections(protocol)
    body = "".join(section.html for section in sections)
    if not standalone:
        return f'<div class="handbook">\n{body}</div>\n'
    e = html.escape
    version, effective = cover_lines(protocol)
    draft = " draft" if protocol.effective is None else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="Charterdesk">\n'
        f"<title>{e(footer_text(protocol))}</title>\n"
        f"<style>\n{stylesheet()}\n{_page_css(protocol)}</style>\n"
        "</head>\n<body>\n"
        '<div class="handbook">\n'
        f'<header class="cover{draft}">\n'
        f'<p class="company">{e(protocol.company)}</p>\n'
        f"<h1>{e(protocol.title)}</h1>\n"
        f'<p class="version">{e(version)}</p>\n'
        f'<p class="effective">{e(effective)}</p>\n'
        "</header>\n"
        f"{_contents(sections)}"
        f"<main>\n{body}</main>\n"
        "</div>\n</body>\n</html>\n"
    )


def _contents(sections: list[HandbookSection]) -> str:
    items = "".join(
        f'<li><a href="#{html.escape(s.key)}"><span class="number">{s.number}</span> '
        f"{html.escape(s.title)}</a></li>\n"
        for s in sections
    )
    title = '<h2 class="toc-title">Contents</h2>'
    return f'<nav class="toc" aria-label="Contents">\n{title}\n<ol>\n{items}</ol>\n</nav>\n'
