"""When each ``reporting.schedule`` entry is due, and which days its report covers.

Plain date arithmetic on the entry's clock (its calendar's time zone, else the team's), with no
database, so the tests can walk a DST change instant by instant.

- ``every: "mon 09:00"`` is each Monday at 09:00 on those clocks; ``daily 08:00`` every day;
  ``1st 07:00`` (or ``month-start``) the first day of each month.
- A time the clocks skip (02:30 on the night they spring forward) is sent at the first instant
  after the jump (03:00 local); a time that happens twice (01:30 when they fall back) is sent
  at the first of the two. So each scheduled day has exactly one instant.
- The report covers whole days in the team's time zone, before the day it is sent: ``daily`` the
  day before, ``weekly`` the Monday-to-Sunday week before the week it is sent in, ``monthly``
  the calendar month before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from charterdesk.protocol.models import Protocol, ReportSchedule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UTC = dt.UTC


@dataclass(frozen=True)
class Entry:
    """One schedule entry of the protocol in force: ``key`` names it in the desk's rows (its index
    and its words, so an edited entry is a new one), ``zone`` its clock."""

    index: int
    key: str
    schedule: ReportSchedule
    zone: str

    @property
    def day(self) -> str:
        return self.schedule.every.split()[0]

    @property
    def time(self) -> dt.time:
        hours, minutes = self.schedule.every.split()[1].split(":")
        return dt.time(int(hours), int(minutes))


def entries(protocol: Protocol, team_zone: str) -> list[Entry]:
    reporting = protocol.reporting
    if reporting is None:
        return []
    out = []
    for index, schedule in enumerate(reporting.schedule):
        zone = team_zone
        if schedule.calendar:
            try:
                zone = protocol.calendar(schedule.calendar).timezone or team_zone
            except KeyError:
                zone = team_zone
        key = f"{index}:{schedule.report}:{schedule.every}:{schedule.calendar or ''}:{','.join(schedule.to)}"
        out.append(Entry(index, key[:200], schedule, zone))
    return out


def _scheduled_day(entry: Entry, day: dt.date) -> bool:
    if entry.day == "daily":
        return True
    if entry.day in ("1st", "month-start"):
        return day.day == 1
    return DAYS[day.weekday()] == entry.day


def local_instant(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``time`` on ``day`` in ``zone`` as a UTC instant: the earlier when it happens twice, the
    end of the jump when the clocks skip it."""
    wall = dt.datetime.combine(day, time, tzinfo=zone)  # fold=0: the earlier of two
    instant = wall.astimezone(UTC)
    back = instant.astimezone(zone)
    if back.replace(tzinfo=None) != wall.replace(tzinfo=None):
        # Skipped: fold=0 reads the wall time with the offset before the jump, which lands after
        # it; the jump itself is the first instant of the day's clocks at or after ``time``.
        low = dt.datetime.combine(day, time, tzinfo=zone).replace(fold=1).astimezone(UTC)
        high = instant
        low, high = min(low, high), max(low, high)
        while (high - low) > dt.timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(zone).replace(tzinfo=None) >= wall.replace(tzinfo=None):
                high = middle
            else:
                low = middle
        instant = high.replace(microsecond=0)
    return instant


def instants(entry: Entry, after: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
    """The entry's instants in (``after``, ``until``], in order."""
    zone = ZoneInfo(entry.zone)
    day = after.astimezone(zone).date() - dt.timedelta(days=1)
    last = until.astimezone(zone).date() + dt.timedelta(days=1)
    while day <= last:
        if _scheduled_day(entry, day):
            instant = local_instant(day, entry.time, zone)
            if after < instant <= until:
                yield instant
        day += dt.timedelta(days=1)


def latest_instant(entry: Entry, until: dt.datetime, *, within: dt.timedelta = dt.timedelta(days=32)):
    """The entry's last instant at or before ``until`` (None if none in the month before)."""
    found = None
    for instant in instants(entry, until - within, until):
        found = instant
    return found


def covered_days(report: str, sent_on: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a ``daily``/``weekly``/``monthly`` report sent on ``sent_on`` covers."""
    if report == "daily":
        day = sent_on - dt.timedelta(days=1)
        return day, day
    if report == "weekly":
        monday = sent_on - dt.timedelta(days=sent_on.weekday())
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    first = sent_on.replace(day=1)
    last = first - dt.timedelta(days=1)
    return last.replace(day=1), last
