"""Durations as the protocol writes them: ``30m``, ``8h``, ``1h30m``, ``2d``.

A duration is kept with the text the author wrote, so that the handbook and the
replay output can quote the protocol's own words, and with its length in whole
seconds for the engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[dhms])+")
# Words people write instead of units, used only to suggest the right spelling.
_WORD_UNITS = {
    "day": "d",
    "days": "d",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "minute": "m",
    "minutes": "m",
    "min": "m",
    "mins": "m",
    "second": "s",
    "seconds": "s",
    "sec": "s",
    "secs": "s",
}


class DurationError(ValueError):
    """The text is not a duration; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time: ``seconds`` for the engines, ``text`` as the protocol wrote it."""

    seconds: int
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def in_words(self) -> str:
        """``1h30m`` -> ``1 hour 30 minutes``: for the handbook."""
        return in_words(self.seconds)


def parse_duration(value: object) -> Duration:
    """Read a duration, or raise DurationError with a suggestion."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DurationError(f"{value!r} is not a duration; write it as a number with a unit, such as 8h")
    text = str(value).strip()
    if isinstance(value, (int, float)) and value <= 0:
        raise DurationError(f"'{text}' must be longer than zero")
    if isinstance(value, (int, float)):
        raise DurationError(f"'{text}' is not a duration: it has no unit; write {text}s, {text}m or {text}h")
    compact = text.replace(" ", "")
    if not _WHOLE.fullmatch(compact):
        if _WHOLE.fullmatch(compact.lower()):
            raise DurationError(f"'{text}' is not a duration; units are lower-case: write {compact.lower()}")
        raise DurationError(f"'{text}' is not a duration; {_suggest(text)}")
    total = 0.0
    for number, unit in _PART.findall(compact):
        total += float(number) * UNIT_SECONDS[unit]
    if total != int(total):
        raise DurationError(f"'{text}' is not a whole number of seconds")
    if total <= 0:
        raise DurationError(f"'{text}' must be longer than zero")
    return Duration(int(total), compact)


def _suggest(text: str) -> str:
    words = re.findall(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)", text)
    parts = []
    for number, word in words:
        unit = _WORD_UNITS.get(word.lower())
        if unit is None:
            break
        parts.append(f"{number}{unit}")
    else:
        if parts:
            return f"write {''.join(parts)}"
    return "write a number with a unit s, m, h or d, such as 30m, 8h or 1h30m"


def format_seconds(seconds: int) -> str:
    """Canonical compact text: 5400 -> ``1h30m``; days are not used (business days are ambiguous)."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if secs:
        out += f"{secs}s"
    return out


def in_words(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for amount, name in ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")):
        if amount:
            parts.append(f"{amount} {name}{'' if amount == 1 else 's'}")
    return " ".join(parts) or "0 seconds"
