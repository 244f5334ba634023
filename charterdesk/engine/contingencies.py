"""Contingency detection: which of the protocol's plans a customer message calls for.

    rules = ContingencyRules(protocol.contingencies)      # once per protocol version
    [match.id for match in rules.detect(text)]           # in protocol order

A contingency's ``detect`` matches when one of its ``phrases_any`` is found in the
message (as ``phrases.py`` finds phrases), or, with ``shouting: true``, when the
message is shouting: at least 20 cased characters, at least 70% of them upper
case (specs/message-checks.md). The desk passes what the customer wrote in this
message, without the quoted history below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charterdesk.protocol import models

from .phrases import PhraseSet, spaced

__all__ = ["ContingencyMatch", "ContingencyRules", "is_shouting"]

SHOUTING_MIN_CASED = 20
"""Fewer cased characters than this are never shouting ("OK", "THANKS!")."""


def is_shouting(text: str) -> bool:
    """At least 20 characters with a case, and 10 x upper-case >= 7 x cased."""
    upper = sum(map(str.isupper, text))
    # 70% of at least 20 is at least 14: fewer capitals settle it without counting the rest.
    if upper < 14:
        return False
    cased = upper + sum(map(str.islower, text))
    return cased >= SHOUTING_MIN_CASED and 10 * upper >= 7 * cased


@dataclass(frozen=True, slots=True)
class ContingencyMatch:
    """A contingency whose ``detect`` matched a message.

    ``clause`` names it in the protocol (``contingencies.aggressive-customer``) for the
    audit log; ``phrase`` is the first of its phrases found, and ``shouting`` says whether
    the message was shouting (checked only when no phrase was found). Its plan (steps,
    actions) is ``protocol.contingency(match.id)``.
    """

    id: str
    title: str
    clause: str
    phrase: str | None
    shouting: bool

    @property
    def reason(self) -> str:
        """Why it matched, for the agent: ``the message says 'lawyer'``."""
        if self.phrase is not None:
            return f"the message says '{self.phrase}'"
        return "the message is written in capitals (shouting)"


class _Detect:
    __slots__ = ("clause", "id", "phrases", "shouting", "title")

    def __init__(self, contingency: models.Contingency) -> None:
        self.id = contingency.id
        self.title = contingency.title
        self.clause = f"contingencies.{contingency.id}"
        self.phrases = PhraseSet(contingency.detect.phrases_any)
        self.shouting = contingency.detect.shouting


class ContingencyRules:
    """A protocol's ``contingencies`` compiled once, to read any number of customer messages."""

    def __init__(self, contingencies: Sequence[models.Contingency]) -> None:
        self._plans = tuple(_Detect(contingency) for contingency in contingencies)
        # Every plan's phrases at once: most messages call for no plan, and one search says so.
        self._every_phrase = PhraseSet([p for c in contingencies for p in c.detect.phrases_any])

    def detect(self, text: str) -> tuple[ContingencyMatch, ...]:
        """The contingencies ``text`` calls for, in protocol order."""
        if not self._plans:
            return ()
        spaced_text = spaced(text)
        any_phrase = self._every_phrase.any_in(spaced_text)
        shouting: bool | None = None  # counted at most once, and only when a plan asks
        matches: list[ContingencyMatch] = []
        for plan in self._plans:
            found = plan.phrases.first_in(spaced_text) if any_phrase else None
            if found is not None:
                matches.append(ContingencyMatch(plan.id, plan.title, plan.clause, found.phrase, False))
                continue
            if plan.shouting:
                if shouting is None:
                    shouting = is_shouting(text)
                if shouting:
                    matches.append(ContingencyMatch(plan.id, plan.title, plan.clause, None, True))
        return tuple(matches)
