"""The one rule for a ticket's tags, wherever a tag comes from: a person on a page, the API, an
email, a protocol's ``add_tag`` action. Pure: the desk's ``tickets.history.clean_tags`` and the
protocol's validation both ask it."""

from __future__ import annotations

MAX_TAG_LENGTH = 64

RULE = f"a tag is one word of at most {MAX_TAG_LENGTH} characters, without spaces or commas"


def normal_tag(text: str) -> str:
    """How a tag is stored: without surrounding spaces, in lower case."""
    return text.strip().lower()


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` (as stored, see ``normal_tag``) is not a tag, or None when it is one."""
    if not tag:
        return "a tag cannot be empty"
    # Commas separate tags in every form of the desk, so a tag holding one could never be typed back.
    if len(tag) > MAX_TAG_LENGTH or "," in tag or any(ch.isspace() for ch in tag):
        return f"'{tag}' is not a tag: {RULE}"
    return None


def repaired_tag(tag: str) -> str:
    """A stored tag made to fit the rule (spaces and commas become hyphens, cut to the length), for
    tags written before the rule held everywhere; empty when nothing is left."""
    words = [w for w in normal_tag(tag).replace(",", " ").split() if w]
    return "-".join(words)[:MAX_TAG_LENGTH].strip("-")
