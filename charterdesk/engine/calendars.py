"""Protocol calendars as business-time engines.

``calendar_from_protocol`` turns one ``calendars:`` entry of a protocol into a
:class:`~charterdesk.engine.calendar.BusinessCalendar`; ``Calendars(protocol)``
keeps one engine per calendar id for a protocol version, built on first use.

A business calendar builds its open spans lazily and keeps them, so it pays to
reuse one: engines are also shared between protocol versions whose calendar
definitions are identical (a new protocol version rarely changes the office
hours), through a small process-wide cache keyed on the definition.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from datetime import date

from charterdesk.protocol import models

from .calendar import BusinessCalendar

__all__ = ["Calendars", "calendar_from_protocol"]

_SHARED_LIMIT = 64
_shared: OrderedDict[tuple, BusinessCalendar] = OrderedDict()


def _definition(cal: models.Calendar) -> tuple:
    """A hashable key that is equal for two calendars that count time the same way."""
    weekly = None
    if not cal.always_open:
        assert isinstance(cal.hours, models.WeeklyHours)
        weekly = tuple(sorted((day, tuple(ranges)) for day, ranges in cal.hours.days.items()))
    holidays = cal.holidays
    country = holidays.country if holidays else None
    subdivision = holidays.subdivision if holidays else None
    closed: tuple[date, ...] = tuple(sorted(holidays.closed)) if holidays else ()
    opened = tuple(sorted((day, tuple(r)) for day, r in holidays.open.items())) if holidays else ()
    return (cal.id, cal.timezone, weekly, country, subdivision, closed, opened)


def calendar_from_protocol(cal: models.Calendar) -> BusinessCalendar:
    """The business-time engine for one protocol calendar (a new object every call).

    A ``24x7`` calendar with holidays but no ``timezone`` counts its dates in UTC.
    """
    holidays = cal.holidays
    weekly = None if cal.always_open else cal.hours.days  # type: ignore[union-attr]
    timezone = cal.timezone
    if timezone is None and holidays is not None and (holidays.country or holidays.closed or holidays.open):
        timezone = "UTC"
    return BusinessCalendar(
        id=cal.id,
        timezone=timezone,
        weekly=weekly,
        holiday_country=holidays.country if holidays else None,
        holiday_subdivision=holidays.subdivision if holidays else None,
        closed=holidays.closed if holidays else (),
        open=holidays.open if holidays else {},
    )


def shared_calendar(cal: models.Calendar) -> BusinessCalendar:
    """Like ``calendar_from_protocol``, but one engine per distinct definition in this process."""
    key = _definition(cal)
    found = _shared.get(key)
    if found is not None:
        _shared.move_to_end(key)
        return found
    built = calendar_from_protocol(cal)
    _shared[key] = built
    if len(_shared) > _SHARED_LIMIT:
        _shared.popitem(last=False)
    return built


class Calendars:
    """The business calendars of one protocol version, by id, each built on first use."""

    def __init__(self, protocol: models.Protocol) -> None:
        self._definitions = {cal.id: cal for cal in protocol.calendars}
        self._built: dict[str, BusinessCalendar] = {}

    def __getitem__(self, calendar_id: str) -> BusinessCalendar:
        found = self._built.get(calendar_id)
        if found is None:
            found = self._built[calendar_id] = shared_calendar(self._definitions[calendar_id])
        return found

    def __contains__(self, calendar_id: object) -> bool:
        return calendar_id in self._definitions

    def get(self, calendar_id: str | None) -> BusinessCalendar | None:
        """The calendar ``calendar_id``, or None when this version has no such calendar."""
        return self[calendar_id] if calendar_id is not None and calendar_id in self._definitions else None

    def __iter__(self) -> Iterator[str]:
        return iter(self._definitions)

    def __len__(self) -> int:
        return len(self._definitions)
