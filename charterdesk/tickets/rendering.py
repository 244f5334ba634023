"""A message's body as the desk and the portal show it.

HTML that came with a message was sanitized when it arrived; it is sanitized again here, with a
short list of tags, as a second line of defence (a row written by an older version, an import,
a bug in ingestion). Inline images (``cid:`` links) point at the download of the message's own
attachment with that Content-ID; other images are not loaded (remote images in mail are mostly
trackers). Plain text keeps its line breaks. Quoted history, the "On ... wrote:" block and
lines starting with ">", is folded behind a "Show quoted text" toggle, kept in full.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import nh3
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

from .attachments import normalize_content_id

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre",
        "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "tt", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})

# "On Mon, 7 Dec 2026 at 09:12, Jo Walker <jo@example.com> wrote:", possibly wrapped onto two lines.
_WROTE = re.compile(r"^\s*On\b.{0,400}?\bwrote:\s*$", re.IGNORECASE | re.DOTALL)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE)
TOGGLE = "Show quoted text"


# --------------------------------------------------------------------------- plain text


def _is_header(lines: list[str], i: int) -> int:
    """How many lines the quote header at ``i`` spans (0: none)."""
    line = lines[i]
    if _ORIGINAL.match(line) or _WROTE.match(line):
        return 1
    if (
        i + 1 < len(lines)
        and line.lstrip().lower().startswith("on ")
        and _WROTE.match(line + " " + lines[i + 1])
    ):
        return 2
    return 0


def split_quoted_text(text: str) -> list[tuple[bool, str]]:
    """The text in parts, ``(quoted, text)``: the reply, then the history it quotes."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parts: list[tuple[bool, list[str]]] = []

    def add(quoted: bool, line: str) -> None:
        if parts and parts[-1][0] == quoted:
            parts[-1][1].append(line)
        else:
            parts.append((quoted, [line]))

    i = 0
    while i < len(lines):
        if _is_header(lines, i) and any(s.strip() for s in lines[:i]):
            # Everything from "On ... wrote:" on is history (signatures below it belong to it).
            for line in lines[i:]:
                add(True, line)
            break
        line = lines[i]
        # A blank line between two quoted lines stays with the quote.
        inside_quote = parts and parts[-1][0] and not line.strip() and _next_quoted(lines, i)
        add(line.lstrip().startswith(">") or bool(inside_quote), line)
        i += 1
    result = [(quoted, "\n".join(chunk).strip("\n")) for quoted, chunk in parts]
    result = [(quoted, chunk) for quoted, chunk in result if chunk.strip()]
    if result and all(quoted for quoted, _ in result):
        # A message that is nothing but a quote (a forward) is shown open.
        return [(False, "\n\n".join(chunk for _, chunk in result))]
    return result


def _next_quoted(lines: list[str], i: int) -> bool:
    for line in lines[i + 1 :]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _fold(quoted_html: str) -> str:
    return f'<details class="quoted"><summary>{TOGGLE}</summary>{quoted_html}</details>'


def render_text(text: str) -> SafeString:
    """Plain text as HTML: escaped, line breaks kept, quoted history folded."""
    out = []
    for quoted, chunk in split_quoted_text(text):
        block = f'<div class="msg-text">{linebreaks(escape(chunk))}</div>'
        out.append(_fold(block) if quoted else block)
    return mark_safe("".join(out))


# --------------------------------------------------------------------------- HTML


_ABSOLUTE = re.compile(r"^\s*(https?|mailto):", re.IGNORECASE)


def sanitize(html: str, image_url: Callable[[str], str | None] | None = None) -> str:
    """``html`` with only the allowed tags and attributes. ``cid:`` sources are resolved by
    ``image_url`` (a Content-ID in, a download address or None out), or kept as they are when it is
    None; every other image source is dropped, and so is every link that is not http(s) or mailto
    (a relative link in a message would point into the desk)."""

    def resolve(value: str) -> str | None:
        return value if image_url is None else image_url(normalize_content_id(value))

    def keep(tag: str, attribute: str, value: str) -> str | None:
        is_cid = value.strip().lower().startswith("cid:")
        if tag == "img" and attribute == "src":
            return resolve(value) if is_cid else None
        if tag == "a" and attribute == "href":
            if is_cid:
                return resolve(value)
            return value if _ABSOLUTE.match(value) else None
        return value

    return nh3.clean(
        html or "",
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "title", "head", "noscript", "template", "iframe", "object"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=keep,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


class _QuoteFinder(HTMLParser):
    """Finds where quoted history starts in sanitized HTML: a blockquote, or the "On ... wrote:"
    line before it (its enclosing block, when the line is one)."""

    BLOCKS = frozenset({"div", "p", "span"})

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for match in re.finditer("\n", html):
            self.line_starts.append(match.end())
        self.stack: list[tuple[str, int]] = []
        self.found: int | None = None
        self.text_before = ""

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if self.found is not None:
            return
        if tag == "blockquote":
            self.found = self._offset()
            return
        if tag not in ("br", "img", "hr"):
            self.stack.append((tag, self._offset()))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if self.found is not None:
            return
        if _WROTE.match(" ".join(data.split())) or _ORIGINAL.match(data.strip()):
            block = self.stack[-1] if self.stack and self.stack[-1][0] in self.BLOCKS else None
            self.found = block[1] if block else self._offset()
            return
        self.text_before += data


def render_html(html: str, image_url: Callable[[str], str | None] | None = None) -> SafeString:
    """Sanitized HTML, with the quoted history (from its first sign on) folded."""
    clean = sanitize(html)  # cid: links stay until the final pass resolves them
    finder = _QuoteFinder(clean)
    finder.feed(clean)
    finder.close()
    at = finder.found
    if at is None or not finder.text_before.strip():
        return mark_safe(f'<div class="msg-html">{sanitize(clean, image_url)}</div>')
    # Cutting the markup in two leaves tags open on one side and closed on the other; cleaning
    # each half again balances it.
    head, tail = sanitize(clean[:at], image_url), sanitize(clean[at:], image_url)
    return mark_safe(f'<div class="msg-html">{head}{_fold(tail)}</div>')


# --------------------------------------------------------------------------- messages


def render_message(message, attachment_url: Callable[[object], str]) -> SafeString:
    """A message's body for a page; ``attachment_url`` gives the viewer's download address of one of
    the message's attachments (prefetch them: no query here)."""
    if message.body_html.strip():
        by_cid = {normalize_content_id(a.content_id): a for a in message.attachments.all() if a.content_id}

        def image_url(content_id: str) -> str | None:
            found = by_cid.get(content_id)
            return attachment_url(found) if found is not None else None

        return render_html(message.body_html, image_url)
    return render_text(message.body_text)
