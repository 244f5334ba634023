"""Etiquette: the checks a public agent reply must pass (protocol section "Etiquette").

    rules = EtiquetteRules(protocol.etiquette)      # once per protocol version
    result = rules.check(text, customer_name="Maria Lopez", last_customer_message="...")
    result.passed, [problem.detail for problem in result.problems]

The checks and their order are those of specs/message-checks.md: ``greeting``,
``closing``, ``customer_name``, ``banned_phrase`` (one problem per phrase found),
``empathy``, ``max_words``. Patterns are searched in the reply with its surrounding
whitespace removed, ignoring case; phrases are found as ``phrases.py`` says. Each
problem names its clause (``etiquette.banned_phrases[2]``) for the audit log and
carries the desk's sentence for the agent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from charterdesk.protocol import models
from charterdesk.protocol.render.words import join_words, pattern_choices

from .phrases import PhraseSet, phrase, spaced

__all__ = ["CHECKS", "EtiquetteResult", "EtiquetteRules", "Problem"]

CHECKS = ("greeting", "closing", "customer_name", "banned_phrase", "empathy", "max_words")
"""The check names, in the order problems are listed."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed etiquette check.

    ``check`` is one of ``CHECKS``; ``clause`` the protocol key that made it
    (``etiquette.greeting``, ``etiquette.banned_phrases[1]``, ...); ``detail`` the
    sentence shown to the agent. ``phrase`` is the banned phrase found (for
    ``banned_phrase``) or the customer's words that asked for empathy (for ``empathy``).
    """

    check: str
    clause: str
    detail: str
    phrase: str | None = None


@dataclass(frozen=True, slots=True)
class EtiquetteResult:
    """The outcome of checking one reply: its problems, in the order of ``CHECKS``."""

    problems: tuple[Problem, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


class _PatternCheck:
    """A required greeting or closing: some pattern must match."""

    __slots__ = ("advice", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)
        self.advice = _advice(patterns)

    def matches(self, stripped: str) -> bool:
        return any(pattern.search(stripped) is not None for pattern in self.patterns)


class EtiquetteRules:
    """A protocol's ``etiquette`` section compiled once, to check any number of replies."""

    def __init__(self, etiquette: models.Etiquette) -> None:
        greeting, closing = etiquette.greeting, etiquette.closing
        self.greeting = _PatternCheck(greeting.patterns) if greeting and greeting.required else None
        self.closing = _PatternCheck(closing.patterns) if closing and closing.required else None
        self.use_customer_name = etiquette.use_customer_name
        self.banned = PhraseSet(etiquette.banned_phrases)
        empathy = etiquette.empathy
        self.empathy_triggers = PhraseSet(empathy.when.customer_phrases_any if empathy else [])
        self.empathy = _PatternCheck(empathy.patterns) if empathy else None
        self.max_words = etiquette.max_words

    def check(
        self,
        text: str,
        *,
        customer_name: str | None = None,
        last_customer_message: str | None = None,
    ) -> EtiquetteResult:
        """Check one reply. ``customer_name`` None or blank skips the name check;
        ``last_customer_message`` None skips the empathy check."""
        problems: list[Problem] = []
        stripped = text.strip()
        if self.greeting is not None and not self.greeting.matches(stripped):
            problems.append(
                Problem("greeting", "etiquette.greeting", f"No greeting: {self.greeting.advice}.")
            )
        if self.closing is not None and not self.closing.matches(stripped):
            problems.append(Problem("closing", "etiquette.closing", f"No closing: {self.closing.advice}."))
        spaced_text = spaced(text)
        if self.use_customer_name and customer_name is not None:
            names = customer_name.split()
            if names and not phrase(names[0]).found_in(spaced_text):
                problems.append(
                    Problem(
                        "customer_name",
                        "etiquette.use_customer_name",
                        f"Address the customer by name: the reply never says {names[0]}.",
                    )
                )
        for index, banned in self.banned.found_in(spaced_text):
            problems.append(
                Problem(
                    "banned_phrase",
                    f"etiquette.banned_phrases[{index}]",
                    f"'{banned.phrase}' is on the banned list; say it another way.",
                    banned.phrase,
                )
            )
        if self.empathy is not None and last_customer_message is not None:
            trigger = self.empathy_triggers.first_in(spaced(last_customer_message))
            if trigger is not None and not self.empathy.matches(stripped):
                problems.append(
                    Problem(
                        "empathy",
                        "etiquette.empathy",
                        f"The customer wrote '{trigger.phrase}': acknowledge it first; "
                        f"{self.empathy.advice}.",
                        trigger.phrase,
                    )
                )
        if self.max_words is not None:
            words = len(text.split())
            if words > self.max_words:
                problems.append(
                    Problem(
                        "max_words",
                        "etiquette.max_words",
                        f"Too long: {words} words; the limit is {self.max_words}.",
                    )
                )
        return EtiquetteResult(tuple(problems))


_VERBS = {"start": "start with", "end": "end with", "anywhere": "use"}


def _advice(patterns: Sequence[str]) -> str:
    """What the agent should write, in words when the patterns are plain lists of words.

    ``["^(hi|hello|dear)\\\\b"]`` -> ``start with hi, hello or dear``; a pattern that cannot be
    read aloud is quoted as it stands.
    """
    # Patterns that look in the same place are merged: "use sorry, understand or apologise".
    merged: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for pattern in patterns:
        choices = pattern_choices(pattern)
        if choices is None:
            unreadable.append(pattern)
        else:
            where, words = choices
            bucket = merged.setdefault(where, [])
            bucket.extend(word for word in words if word not in bucket)
    parts = [f"{_VERBS[where]} {join_words(words, 'or')}" for where, words in merged.items()]
    parts += [f"match the pattern {pattern}" for pattern in unreadable]
    return "; or ".join(parts)
