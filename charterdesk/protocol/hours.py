"""Opening hours as the protocol writes them: ``mon-fri: "09:00-17:00"``, ``sat: "10:00-12:00,13:00-15:00"``.

Every error says how to write the value instead (``'9-17' is not an hour range; write 09:00-17:00``).
"""

from __future__ import annotations

import re
from itertools import pairwise

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_WORDS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

TimeRange = tuple[int, int]
"""Minutes from local midnight: (start, end), start < end, end at most 1440 (24:00)."""

_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class HoursError(ValueError):
    """The text is not opening hours; the message says how to write them."""


_CLOSED_WORDS = {"closed", "off", "none", "no", "-", "shut"}
# Loose spellings people use, only to suggest the right one: 9-17, 9am-5pm, 9:00-17:30.
_LOOSE = re.compile(
    r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*(?:-|–|to)\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", re.I
)


def parse_days(spec: str) -> list[int]:
    """``mon-fri`` -> [0, 1, 2, 3, 4]; ``sat`` -> [5]; ``sat,sun`` -> [5, 6]."""
    days: list[int] = []
    for part in str(spec).lower().replace(" ", "").split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first, spec), _day(last, spec)
            if b < a:
                first_part = DAY_NAMES[a] if a == 6 else f"{DAY_NAMES[a]}-sun"
                second_part = "mon" if b == 0 else f"mon-{DAY_NAMES[b]}"
                raise HoursError(
                    f"'{spec}': a day range runs forwards from Monday to Sunday, such as mon-fri; "
                    f"for a range across the weekend write {first_part},{second_part}"
                )
            days.extend(range(a, b + 1))
        else:
            days.append(_day(part, spec))
    return days


def _day(name: str, spec: str) -> int:
    full_names = [word.lower() for word in DAY_WORDS]
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    if name in full_names:
        return full_names.index(name)
    raise HoursError(
        f"'{spec}' is not a day or range of days; "
        f"use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri"
    )


def parse_ranges(spec: str) -> list[TimeRange]:
    """``"10:00-12:00,13:00-15:00"`` -> [(600, 720), (780, 900)], checked for order and overlap."""
    ranges: list[TimeRange] = []
    for part in str(spec).split(","):
        part = part.strip()
        match = _RANGE.fullmatch(part)
        if not match:
            raise HoursError(_not_a_range(part))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = _minutes(h1, m1, part, allow_24=False), _minutes(h2, m2, part, allow_24=True)
        if end == start:
            raise HoursError(f"'{part}' is empty: it ends when it starts")
        if end < start:
            raise HoursError(
                f"'{part}' ends before it starts; a range cannot pass midnight, so end it at 24:00 "
                f"and start the next day at 00:00"
            )
        ranges.append((start, end))
    ranges.sort()
    for (a_start, a_end), (b_start, b_end) in pairwise(ranges):
        if b_start < a_end:
            merged = f"{format_minutes(a_start)}-{format_minutes(max(a_end, b_end))}"
            raise HoursError(
                f"{format_minutes(a_start)}-{format_minutes(a_end)} and "
                f"{format_minutes(b_start)}-{format_minutes(b_end)} overlap; "
                f"write them as one range, {merged}"
            )
    return ranges


def _not_a_range(part: str) -> str:
    if part.lower() in _CLOSED_WORDS:
        return f"'{part}' is not an hour range; to close a day, leave it out of the hours"
    loose = _LOOSE.fullmatch(part)
    if loose:
        h1, m1, p1, h2, m2, p2 = loose.groups()
        start, end = _clock(h1, m1, p1), _clock(h2, m2, p2)
        if start is not None and end is not None:
            return f"'{part}' is not an hour range; write {start}-{end}"
    return f"'{part}' is not an hour range; write HH:MM-HH:MM, such as 09:00-17:00"


def _clock(hour: str, minute: str | None, half: str | None) -> str | None:
    h, m = int(hour), int(minute or 0)
    if half:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if half.lower() == "pm" else 0)
    if h > 24 or m > 59 or (h == 24 and m):
        return None
    return f"{h:02d}:{m:02d}"


def _minutes(hour: int, minute: int, part: str, *, allow_24: bool) -> int:
    if minute > 59 or hour > 24 or (hour == 24 and (minute or not allow_24)):
        raise HoursError(
            f"'{part}' has a time that does not exist; times run from 00:00 to 24:00 (24:00 only as an end)"
        )
    return hour * 60 + minute


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_ranges(ranges: list[TimeRange]) -> str:
    return ", ".join(f"{format_minutes(a)}–{format_minutes(b)}" for a, b in ranges)
