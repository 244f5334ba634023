"""The handbook: the protocol in force, section by section, searchable."""

from __future__ import annotations

import html
import re

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.safestring import mark_safe

from charterdesk.library.versions import load_version, next_scheduled, version_in_force


@login_required
def index(request):
    version = version_in_force()
    sections = []
    protocol = None
    if version is not None:
        protocol = load_version(version).protocol
        if protocol is not None:
            from charterdesk.protocol.render import handbook_sections

            sections = handbook_sections(protocol)
    query = request.GET.get("q", "").strip()
    hits = _search(sections, query) if query else None
    context = {
        "version": version,
        "protocol": protocol,
        "sections": sections,
        "query": query,
        "hits": hits,
        "scheduled": next_scheduled(),
    }
    template = "handbook/_results.html" if request.headers.get("HX-Request") else "handbook/index.html"
    return render(request, template, context)


_TAG = re.compile(r"<[^>]+>")


def _search(sections, query: str) -> list[dict]:
    """Sections whose text holds every word of the query, with short excerpts around the matches."""
    words = [w for w in re.findall(r"\w+", query.lower()) if w]
    hits = []
    for section in sections:
        text = html.unescape(_TAG.sub(" ", section.html))
        lower = text.lower()
        if not all(word in lower for word in words):
            continue
        excerpts = []
        for match in re.finditer(re.escape(words[0]), lower) if words else ():
            start, end = max(0, match.start() - 80), min(len(text), match.end() + 80)
            excerpts.append(_highlight(" ".join(text[start:end].split()), words))
            if len(excerpts) == 3:
                break
        hits.append({"section": section, "excerpts": excerpts})
    return hits


def _highlight(text: str, words: list[str]) -> str:
    escaped = html.escape(text)
    for word in words:
        escaped = re.sub(
            f"({re.escape(html.escape(word))})", r"<mark>\1</mark>", escaped, flags=re.IGNORECASE
        )
    return mark_safe(escaped)
