"""Shared helpers for the protocol tests: the spec's example protocol, and small edits of it.

Each malformed file in these tests is the example protocol with one small textual edit, so
that a test reads as "the example, but with X", and line numbers stay those of the example.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from charterdesk.protocol.load import LoadResult, load_protocol

# The example protocol ships with the demo, so the tests need nothing outside the checkout.
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"
FILENAME = "acme.yaml"


@cache
def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def edited(*edits: tuple[str, str]) -> str:
    """The example with each ``(old, new)`` replaced; ``old`` must occur exactly once."""
    text = example_text()
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the example"
        text = text.replace(old, new)
    return text


def load(text: str) -> LoadResult:
    return load_protocol(text, FILENAME)


def lines(text: str) -> list[str]:
    """Every problem of ``text``, as ``validate`` prints it."""
    return [str(problem) for problem in load(text).problems]
