"""A handbook section as a list of blocks that render both to Markdown and to HTML.

Every block is Markdown (text the author wrote, or text built here with the escaping
helpers below); the HTML of a block is markdown-it's rendering of that same Markdown,
with raw HTML switched off, so the two formats cannot drift apart and nothing in the
protocol file can inject markup. Headings are the exception: they are built here so
that they carry stable anchors and section numbers.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")

# ASCII punctuation that can start Markdown syntax inside a line.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&!])")
# Text that would open a block (heading, quote, list, rule) when it stands at the start of a line.
_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def md_to_html(text: str) -> str:
    return _MD.render(text)


def esc(text: str, *, line_start: bool = True) -> str:
    """Plain text as Markdown that shows exactly that text, on one line.

    ``line_start=False`` where the text cannot open a block (after a heading's ``#``).
    """
    text = " ".join(str(text).split())
    text = _INLINE_SPECIAL.sub(r"\\\1", text)
    if not line_start:
        return text
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def inline(text: str) -> str:
    """Author text meant as inline Markdown (a step, a title, an answer), kept on one line."""
    text = " ".join(str(text).split())
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def cell(text: str) -> str:
    """Inline Markdown for a table cell: pipes would end the cell."""
    return text.replace("|", "\\|") if text else "—"


def code(text: str) -> str:
    """A code span that holds ``text`` whatever backticks it contains."""
    text = " ".join(str(text).split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def quoted(text: str) -> str:
    return f"“{esc(text)}”"


def demote_headings(text: str, levels: int = 3) -> str:
    """Author Markdown with its headings moved down ``levels`` (a ``#`` in a note must not
    become a chapter of the handbook). Works on markdown-it's own parse, so code blocks
    that merely contain ``#`` are left alone."""
    lines = text.split("\n")
    for token in _MD.parse(text):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        depth = min(6, int(token.tag[1]) + levels)
        first, end = token.map
        if token.markup.startswith("#"):
            lines[first] = re.sub(r"^(\s*)#+", r"\g<1>" + "#" * depth, lines[first], count=1)
        else:  # setext: the last line is the underline
            content = " ".join(line.strip() for line in lines[first : end - 1])
            lines[first] = "#" * depth + " " + content
            for index in range(first + 1, end):
                lines[index] = "\0"
    return "\n".join(line for line in lines if line != "\0")


def author_block(text: str) -> str:
    """A Markdown field from the protocol (purpose, notes, material, ...) ready to place in a section."""
    return demote_headings(textwrap.dedent(str(text)).strip("\n")).strip()


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GFM table; every cell is already inline Markdown (use ``esc``/``cell``)."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell(value) for value in row) + " |")
    return "\n".join(lines)


def bullets(items: Iterable[str], *, numbered: bool = False) -> str:
    out = []
    for number, item in enumerate(items, 1):
        marker = f"{number}." if numbered else "-"
        indent = " " * (len(marker) + 1)
        body = "\n".join((indent + line) if line.strip() else "" for line in item.split("\n"))[len(indent) :]
        out.append(f"{marker} {body}")
    return "\n".join(out)


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True, slots=True)
class Heading:
    level: int  # 2 for a section, 3 for a subsection, 4 for an item
    title: str  # plain text
    anchor: str | None = None
    number: str | None = None

    def markdown(self) -> str:
        label = f"{self.number} {self.title}" if self.number else self.title
        return f"{'#' * self.level} {esc(label, line_start=False)}"

    def html(self) -> str:
        anchor = f' id="{html.escape(self.anchor)}"' if self.anchor else ""
        number = f'<span class="number">{html.escape(self.number)}</span> ' if self.number else ""
        return f"<h{self.level}{anchor}>{number}{html.escape(self.title)}</h{self.level}>\n"


@dataclass(frozen=True, slots=True)
class Block:
    md: str
    css: str | None = None  # the class of the <div> that wraps the block in HTML

    def markdown(self) -> str:
        return self.md

    def html(self) -> str:
        body = md_to_html(self.md)
        if self.css:
            return f'<div class="{self.css}">\n{body}</div>\n'
        return body


@dataclass
class SectionWriter:
    """Collects one handbook section: its heading, subsections (numbered x.y) and blocks."""

    key: str
    number: int
    title: str
    blocks: list[Heading | Block] = field(default_factory=list)
    _subsections: int = 0
    _anchors: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.blocks.append(Heading(2, self.title, self.key, str(self.number)))
        self._anchors.add(self.key)

    def subsection(self, title: str, slug: str | None = None) -> None:
        self._subsections += 1
        anchor = self._anchor(slug or title)
        self.blocks.append(Heading(3, title, anchor, f"{self.number}.{self._subsections}"))

    def item(self, title: str, slug: str | None = None) -> None:
        self.blocks.append(Heading(4, title, self._anchor(slug or title)))

    def add(self, markdown: str, css: str | None = None) -> None:
        if markdown.strip():
            self.blocks.append(Block(markdown.strip("\n"), css))

    def author(self, text: str | None, css: str | None = None) -> None:
        if text and text.strip():
            self.add(author_block(text), css)

    def _anchor(self, text: str) -> str:
        base = f"{self.key}-{slug(text)}"
        anchor, n = base, 2
        while anchor in self._anchors:
            anchor, n = f"{base}-{n}", n + 1
        self._anchors.add(anchor)
        return anchor

    def markdown(self) -> str:
        return "\n\n".join(block.markdown() for block in self.blocks) + "\n"

    def html(self) -> str:
        inner = "".join(block.html() for block in self.blocks)
        return f'<section class="chapter chapter-{self.key}" id="section-{self.key}">\n{inner}</section>\n'


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def plain_text(markdown: str) -> str:
    """The words of a Markdown text without its syntax: for search."""
    words: list[str] = []
    for token in _MD.parse(markdown):
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
            words.append("\n")
        elif token.type in ("code_block", "fence"):
            words.append(token.content)
    return re.sub(r"[ \t]+", " ", "".join(words)).strip()
