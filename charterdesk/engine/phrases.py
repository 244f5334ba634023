"""Phrases, as the message checks find them (specs/message-checks.md).

A phrase is found in a text when it occurs ignoring case, with any run of
whitespace (in the text or in the phrase) counting as one space, and with no
letter or digit directly before or after it: "calm down" is found in
"Please CALM\\n down!" but not in "calm downstairs". Etiquette (banned phrases,
the customer's name, the empathy triggers) and contingency detection share this
one definition.

A text is normalised once (``spaced``) and then searched for many phrases.
A ``PhraseSet`` first asks one regular expression whether any of its phrases is
there at all (five times faster than asking each phrase, and the usual answer is
no), and only then which.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["CompiledPhrase", "PhraseSet", "phrase", "spaced"]

# [^\W_] is exactly "a letter or a digit" (str.isalnum), in every script.
_BEFORE = r"(?<![^\W_])"
_AFTER = r"(?![^\W_])"


def spaced(text: str) -> str:
    """``text`` with every run of whitespace made one space (nothing stripped): exactly
    ``re.sub(r"\\s+", " ", text)``, which is four times slower (str.split and \\s agree on
    what whitespace is)."""
    words = text.split()
    if not words:
        return " " if text else ""
    joined = " ".join(words)
    if text[0].isspace():
        joined = " " + joined
    if text[-1].isspace():
        joined += " "
    return joined


class CompiledPhrase:
    """One phrase, compiled once and searched in any number of ``spaced`` texts."""

    __slots__ = ("_regex", "phrase")

    def __init__(self, phrase: str) -> None:
        self.phrase = phrase
        self._regex = re.compile(_BEFORE + re.escape(spaced(phrase)) + _AFTER, re.IGNORECASE)

    def found_in(self, spaced_text: str) -> bool:
        """Whether the phrase is in a text already passed through ``spaced``."""
        return self._regex.search(spaced_text) is not None

    def __repr__(self) -> str:
        return f"CompiledPhrase({self.phrase!r})"


@lru_cache(maxsize=4096)
def phrase(text: str) -> CompiledPhrase:
    """A compiled phrase, kept for reuse (a customer's name is looked for in every reply)."""
    return CompiledPhrase(text)


class PhraseSet:
    """Several phrases, in the protocol's order, searched together."""

    __slots__ = ("_any", "phrases")

    def __init__(self, phrases: list[str] | tuple[str, ...]) -> None:
        self.phrases = tuple(CompiledPhrase(phrase) for phrase in phrases)
        # Each alternative carries its own end check, so a phrase that fails it at a place lets
        # the next one try there: the search finds a match exactly when some phrase is found.
        alternatives = "|".join(re.escape(spaced(phrase)) + _AFTER for phrase in phrases)
        self._any = re.compile(f"{_BEFORE}(?:{alternatives})", re.IGNORECASE) if phrases else None

    def any_in(self, spaced_text: str) -> bool:
        return self._any is not None and self._any.search(spaced_text) is not None

    def found_in(self, spaced_text: str) -> list[tuple[int, CompiledPhrase]]:
        """Every phrase found, with its index in the set, in the set's order."""
        if not self.any_in(spaced_text):
            return []
        return [(index, phrase) for index, phrase in enumerate(self.phrases) if phrase.found_in(spaced_text)]

    def first_in(self, spaced_text: str) -> CompiledPhrase | None:
        """The first phrase of the set that is found, or None."""
        if not self.any_in(spaced_text):
            return None
        return next((phrase for phrase in self.phrases if phrase.found_in(spaced_text)), None)
