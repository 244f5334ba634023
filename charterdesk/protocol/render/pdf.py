"""The handbook as PDF: the standalone HTML printed by WeasyPrint with the print stylesheet."""

from __future__ import annotations

from ..models import Protocol
from .html import render_html


def render_pdf(protocol: Protocol) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only inline data: resources; printing never reaches the network or the disk.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = HTML(string=render_html(protocol, standalone=True), url_fetcher=fetcher)
    return document.write_pdf()
