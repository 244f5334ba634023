"""The protocol as a handbook people read: Markdown, HTML and PDF from one set of sections.

    >>> render(protocol, "pdf")            # bytes of the whole handbook
    >>> handbook_sections(protocol)        # section by section, for the desk's handbook pages

Sections follow the 13-section template the product grew from; a section the file
leaves out is left out of the handbook, and the numbering of the rest stays continuous.
Output depends only on the protocol (never on the clock), so the same version always
renders the same bytes on the same machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..models import Protocol
    from .html import render_html
    from .markdown import render_markdown
    from .sections import SECTION_TITLES, HandbookSection
    from .words import describe_calendar

Format = Literal["md", "html", "pdf"]
FORMATS: tuple[Format, ...] = ("md", "html", "pdf")

# Imported on first use, so that ``diff.py`` (which needs only ``words``) and the CLI's
# ``validate`` do not pay for markdown-it.
_LAZY = {
    "render_html": ".html",
    "render_markdown": ".markdown",
    "SECTION_TITLES": ".sections",
    "HandbookSection": ".sections",
    "describe_calendar": ".words",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def handbook_sections(protocol: Protocol) -> list[HandbookSection]:
    """The numbered sections in handbook order, each with its anchor key, Markdown and HTML."""
    from .sections import build_sections

    return build_sections(protocol)


def render(protocol: Protocol, fmt: Format) -> bytes:
    """The whole handbook as ``md`` or ``html`` (UTF-8) or ``pdf``."""
    if fmt == "md":
        from .markdown import render_markdown

        return render_markdown(protocol).encode("utf-8")
    if fmt == "html":
        from .html import render_html

        return render_html(protocol).encode("utf-8")
    if fmt == "pdf":
        from .pdf import render_pdf  # WeasyPrint is slow to import: only when a PDF is asked for

        return render_pdf(protocol)
    raise ValueError(f"unknown format {fmt!r}; use md, html or pdf")


__all__ = [
    "FORMATS",
    "SECTION_TITLES",
    "Format",
    "HandbookSection",
    "describe_calendar",
    "handbook_sections",
    "render",
    "render_html",
    "render_markdown",
]
