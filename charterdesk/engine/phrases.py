"""Phrases, as the message checks find them (specs/message-checks.md).

A phrase is found in a text when it occurs ignoring case, with any run of
whitespace (in the text or in the phrase) counting as one space, and with no
letter or digit directly before or after it: "calm down" is found in
"Please CALM\\n down!" but not in "calm downstairs". Etiquette (banned phrases,
the customer's name, the empathy triggers) and contingency detection share this
one definition.

A text is normalised once (``spaced``) and then searched for many phrases.
"""

from __future__ import annotations

import re

__all__ = ["CompiledPhrase", "spaced"]

_WHITESPACE = re.compile(r"\s+")


def spaced(text: str) -> str:
    """``text`` with every run of whitespace made one space (nothing stripped)."""
    return _WHITESPACE.sub(" ", text)


class CompiledPhrase:
    """One phrase, compiled once and searched in any number of ``spaced`` texts."""

    __slots__ = ("_regex", "phrase")

    def __init__(self, phrase: str) -> None:
        self.phrase = phrase
        # [^\W_] is exactly "a letter or a digit" (str.isalnum), in every script.
        self._regex = re.compile(r"(?<![^\W_])" + re.escape(spaced(phrase)) + r"(?![^\W_])", re.IGNORECASE)

    def found_in(self, spaced_text: str) -> bool:
        """Whether the phrase is in a text already passed through ``spaced``."""
        return self._regex.search(spaced_text) is not None

    def __repr__(self) -> str:
        return f"CompiledPhrase({self.phrase!r})"
