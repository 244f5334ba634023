"""Business time: counting only the hours a calendar is open.

A calendar (protocol section "Calendars") names weekly open hours in local
wall-clock time of an IANA zone, public holidays from the `holidays` package,
extra closed dates and extra open dates with their own hours. SLA due times,
escalation offsets and report schedules all count time in such a calendar.

How time is counted, from the spec:

- A real instant is open when the wall clock of the calendar's zone shows a
  time inside that local date's open hours. So time that does not exist
  locally (a spring-forward gap) is not counted, and time that occurs twice
  (fall-back) is counted twice, as it really passes: an open span
  01:00-03:00 on a fall-back night is three real hours.
- The due time is the instant at which the counted time since the start
  reaches the target. A target reached exactly at closing time is due at
  closing time, not at the next opening; a zero target is due at the start.

How it is computed: the calendar is turned, lazily and one chunk of about a
year at a time, into sorted UTC spans ``[start, end)`` in integer POSIX
seconds with a running total of open seconds. Every question is then a
binary search plus integer arithmetic; no datetime object is made on the hot
path. Nothing here reads the clock or imports Django: time is passed in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_package

__all__ = ["COUNT_LIMIT_SECONDS", "HORIZON_SECONDS", "BusinessCalendar", "TimeRange", "format_duration"]

TimeRange: TypeAlias = tuple[int, int]
"""Open hours within one local day, in minutes from local midnight; ``(540, 1020)`` is 09:00-17:00.
The start is before the end and the end may be 1440 (24:00)."""

MINUTES_PER_DAY = 1440
SECONDS_PER_DAY = 86_400

HORIZON_SECONDS = 2 * 366 * SECONDS_PER_DAY
"""Two years, leap days included. A count of business time that meets two years without open
hours never ends (the replay spec's "the calendar has no open hours within two years"), and an
opening is looked for this far ahead."""

COUNT_LIMIT_SECONDS = 50 * 366 * SECONDS_PER_DAY
"""A due time more than fifty years after the start of its count is treated as never reached, so
that an absurd target costs bounded work (a protocol's targets are hours and days)."""

# The spans are built one chunk of UTC time at a time. A power of two (about 388 days)
# keeps the chunk of an instant a single integer division.
_CHUNK_SECONDS = 1 << 25

# Offsets are probed this often to find a zone's transitions; tzdata has no two
# transitions this close together, and each change found is then pinned to the second.
_TRANSITION_PROBE_SECONDS = 3 * 3600

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FULL_DAY: tuple[TimeRange, ...] = ((0, MINUTES_PER_DAY),)
# explain_add lists at most this many days one by one before collapsing the middle.
_EXPLAIN_MAX_DAYS = 6


class BusinessCalendar:
    """A protocol calendar: when the team is open, and how much open time lies between instants.

    ``weekly=None`` means around the clock (24x7); its ``timezone`` may then be None. Weekday keys
    are 0=Mon..6=Sun and a missing day is closed. Public holidays of ``holiday_country`` (and
    ``holiday_subdivision``) and the ``closed`` dates are closed all day; an ``open`` date is open
    with exactly its own hours, whatever its weekday and even on a holiday.
    """

    def __init__(
        self,
        *,
        id: str = "",
        timezone: str | None,
        weekly: Mapping[int, Sequence[TimeRange]] | None,
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        closed: Iterable[date] = (),
        open: Mapping[date, Sequence[TimeRange]] = {},
    ) -> None:
        self.id = id
        self.timezone = timezone
        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        self.closed_dates: frozenset[date] = frozenset(closed)
        self.open_dates: dict[date, tuple[TimeRange, ...]] = {
            day: _normalised_ranges(ranges, f"open hours on {day.isoformat()}")
            for day, ranges in open.items()
        }
        self.weekly: dict[int, tuple[TimeRange, ...]] | None = None
        if weekly is not None:
            self.weekly = {}
            for weekday, ranges in weekly.items():
                if weekday not in range(7):
                    raise ValueError(f"weekday {weekday!r} is not 0 (Mon) .. 6 (Sun)")
                normalised = _normalised_ranges(ranges, f"hours on {_DAY_NAMES[weekday]}")
                if normalised:
                    self.weekly[weekday] = normalised
        if holiday_subdivision is not None and holiday_country is None:
            raise ValueError("a holiday subdivision needs a holiday country")
        has_exceptions = bool(holiday_country or self.closed_dates or self.open_dates)

        # 24x7 with no exceptions never needs the zone: counted time is elapsed time.
        self._always_open = weekly is None and not has_exceptions
        self._never_open = self.weekly is not None and not self.weekly and not self.open_dates
        self._zone: ZoneInfo | None = None
        if timezone is not None:
            try:
                self._zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"timezone {timezone!r} is not a known IANA time zone") from error
        elif not self._always_open:
            raise ValueError("timezone is required unless the calendar is 24x7 without holidays or dates")

        self._holiday_dates_by_year: dict[int, frozenset[date]] = {}
        if holiday_country is not None:
            # Looked up once now (no year is computed yet) so that an unknown country or
            # subdivision fails here, by name, rather than on the first due time.
            try:
                holidays_package.country_holidays(holiday_country, subdiv=holiday_subdivision)
            except NotImplementedError as error:
                raise ValueError(f"no public holidays known: {error}") from error
        self._hours_by_weekday: tuple[tuple[TimeRange, ...], ...] = tuple(
            _FULL_DAY if self.weekly is None else self.weekly.get(weekday, ()) for weekday in range(7)
        )
        self._chunks: dict[int, _Chunk] = {}

    def __repr__(self) -> str:
        return f"<BusinessCalendar {self.id!r}: {self.describe()}>"

    # -- The fast core: integer POSIX seconds -----------------------------------------------------

    def add_seconds(self, start: int, seconds: int) -> int | None:
        """The instant at which ``seconds`` of business time have been counted from ``start``.

        None when it is never reached: the calendar has a stretch of two years without open hours
        before it (counting from ``start``), or it lies more than fifty years after ``start``.
        """
        if seconds <= 0:
            if seconds == 0:
                return start
            raise ValueError(f"a business duration cannot be negative (got {seconds} s)")
        if self._always_open:
            return start + seconds if seconds <= COUNT_LIMIT_SECONDS else None
        if self._never_open:
            return None
        limit = start + COUNT_LIMIT_SECONDS
        # The last open instant met so far (the start, to begin with): two years past it without
        # open hours and the count never ends.
        open_until = start
        first = index = start // _CHUNK_SECONDS
        chunk = self._chunks.get(index) or self._build_chunk(index)
        # Inlined chunk.counted_before(start): this is the hot path of an SLA replay.
        target = seconds
        span = bisect_right(chunk.starts, start) - 1
        if span >= 0:
            end = chunk.ends[span]
            target += chunk.cum_end[span] - (end - start if start < end else 0)
        while target > chunk.total:
            target -= chunk.total
            if chunk.total and chunk.ends[-1] > open_until:
                open_until = chunk.ends[-1]
            index += 1
            if index * _CHUNK_SECONDS > min(open_until + HORIZON_SECONDS, limit):
                return None
            chunk = self._chunks.get(index) or self._build_chunk(index)
        if index != first and chunk.starts[0] > open_until + HORIZON_SECONDS:
            return None  # a chunk is shorter than two years: only the gap before it can be that long
        # The first span whose running total reaches the target holds the due instant; at its
        # very end when the target is reached exactly at closing time.
        span = bisect_left(chunk.cum_end, target)
        due = chunk.ends[span] - (chunk.cum_end[span] - target)
        return due if due <= limit else None

    def between_seconds(self, a: int, b: int) -> int:
        """Business seconds in ``[a, b)``; 0 when ``b <= a``."""
        if b <= a:
            return 0
        if self._always_open:
            return b - a
        if self._never_open:
            return 0
        first, last = a // _CHUNK_SECONDS, b // _CHUNK_SECONDS
        chunk = self._chunk(first)
        if first == last:
            return chunk.counted_before(b) - chunk.counted_before(a)
        counted = chunk.total - chunk.counted_before(a)
        for index in range(first + 1, last):
            counted += self._chunk(index).total
        return counted + self._chunk(last).counted_before(b)

    def is_open_at(self, t: int) -> bool:
        """Whether the calendar is open at instant ``t`` (a span's start is open, its end is not)."""
        if self._always_open:
            return True
        if self._never_open:
            return False
        chunk = self._chunk(t // _CHUNK_SECONDS)
        span = bisect_right(chunk.starts, t) - 1
        return span >= 0 and t < chunk.ends[span]

    def next_open_at(self, t: int) -> int | None:
        """``t`` itself when open, else the next opening; None when there is none within two years."""
        if self._always_open:
            return t
        if self._never_open:
            return None
        horizon = t + HORIZON_SECONDS
        index = t // _CHUNK_SECONDS
        chunk = self._chunk(index)
        span = bisect_right(chunk.starts, t) - 1
        if span >= 0 and t < chunk.ends[span]:
            return t
        span += 1
        while span >= len(chunk.starts):
            index += 1
            if index * _CHUNK_SECONDS > horizon:
                return None
            chunk = self._chunk(index)
            span = 0
        opening = chunk.starts[span]
        return opening if opening <= horizon else None

    # -- Convenience wrappers: aware datetimes and timedeltas -------------------------------------
    # The desk keeps times to the second, so sub-second parts are dropped (floored) on the way in.

    def add(self, start: datetime, duration: timedelta) -> datetime | None:
        """The due time: when ``duration`` of business time has been counted from ``start`` (UTC)."""
        due = self.add_seconds(_to_seconds(start), duration.days * SECONDS_PER_DAY + duration.seconds)
        return None if due is None else _to_datetime(due)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``; zero when ``b`` is not after ``a``."""
        return timedelta(seconds=self.between_seconds(_to_seconds(a), _to_seconds(b)))

    def is_open(self, t: datetime) -> bool:
        """Whether the calendar is open at ``t``."""
        return self.is_open_at(_to_seconds(t))

    def next_open(self, t: datetime) -> datetime | None:
        """``t`` itself when open, else the next opening (UTC); None when none within two years."""
        opening = self.next_open_at(_to_seconds(t))
        return None if opening is None else _to_datetime(opening)

    # -- Words for people ---------------------------------------------------------------------------

    def explain_add(self, start: int, seconds: int) -> str:
        """How ``add_seconds(start, seconds)`` reached its answer, day by day, in local time.

        For example "8 h of business time from Fri 4 Dec 2026 17:30 (America/New_York): 30 min
        Fri 4 Dec, 4 h Sat 5 Dec, 3 h 30 min Mon 7 Dec -> due Mon 7 Dec 2026 11:30
        (2026-12-07T16:30:00Z)".
        """
        # Every stored SLA cycle carries one of these (tickets/live_sla.py), so this runs once per
        # cycle of every ticket change and of a bulk load: the day words are memoised and the
        # open spans are walked inline.
        due = self.add_seconds(start, seconds)
        amount = format_duration(seconds)
        zone = "" if self._zone is None else f" ({self.timezone})"
        if self._always_open:
            head = f"{amount} around the clock from {self._format_instant(start)}{zone}"
            if due is None:
                return f"{head}: more than fifty years away -> no due time"
            return f"{head} -> {self._format_due(due)}"
        head = f"{amount} of business time from {self._format_instant(start)}{zone}"
        if due is None:
            return f"{head}: never reached (two years without open hours, or fifty years away) -> no due time"
        if due == start:
            return f"{head}: nothing to count -> due {self._format_due(due)}"
        counted_by_day: dict[int, int] = {}
        index = start // _CHUNK_SECONDS
        while index * _CHUNK_SECONDS < due:
            chunk = self._chunks.get(index) or self._build_chunk(index)
            starts, ends, days = chunk.starts, chunk.ends, chunk.days
            first = max(bisect_right(starts, start) - 1, 0)
            for position in range(first, len(starts)):
                span_start = starts[position]
                if span_start >= due:
                    break
                span_start = max(span_start, start)
                span_end = min(ends[position], due)
                if span_start < span_end:
                    day = days[position]
                    counted_by_day[day] = counted_by_day.get(day, 0) + span_end - span_start
            else:
                index += 1
                continue
            break
        parts = [f"{format_duration(counted)} {_format_day(day)}" for day, counted in counted_by_day.items()]
        if len(parts) > _EXPLAIN_MAX_DAYS:
            hidden = list(counted_by_day.values())[3:-2]
            parts[3:-2] = [f"(+{len(hidden)} more days, {format_duration(sum(hidden))})"]
        return f"{head}: {', '.join(parts)} -> due {self._format_due(due)}"

    def describe(self) -> str:
        """The calendar in words for the handbook.

        For example "Mon–Fri 08:00–18:00, Sat 10:00–14:00 (America/New_York); closed on public
        holidays of US (NY) and on 2026-12-24", or "Around the clock (24x7)".
        """
        # A calendar never changes once built, and every cycle's explanation quotes it.
        cached = getattr(self, "_description", None)
        if cached is None:
            cached = self._description = self._describe()
        return cached

    def _describe(self) -> str:
        if self._always_open:
            return "Around the clock (24x7)"
        if self.weekly is None:
            hours = "Around the clock"
        elif not self.weekly:
            hours = "No regular hours"
        else:
            hours = _describe_weekly(self._hours_by_weekday)
        text = f"{hours} ({self.timezone})"
        closures = []
        if self.holiday_country is not None:
            region = self.holiday_country
            if self.holiday_subdivision is not None:
                region += f" ({self.holiday_subdivision})"
            closures.append(f"public holidays of {region}")
        if self.closed_dates:
            closures.append(", ".join(day.isoformat() for day in sorted(self.closed_dates)))
        if closures:
            text += "; closed on " + " and on ".join(closures)
        if self.open_dates:
            openings = [
                f"{day.isoformat()} {_describe_ranges(ranges) if ranges else '(closed)'}"
                for day, ranges in sorted(self.open_dates.items())
            ]
            text += "; open on " + ", ".join(openings)
        return text

    # -- Building the spans -----------------------------------------------------------------------

    def hours_on(self, day: date) -> tuple[TimeRange, ...]:
        """The open hours of one local date, after holidays, closed dates and open dates."""
        if day in self.open_dates:
            return self.open_dates[day]
        if day in self.closed_dates or day in self._holiday_dates_in(day.year):
            return ()
        return self._hours_by_weekday[day.weekday()]

    def _holiday_dates_in(self, year: int) -> frozenset[date]:
        if self.holiday_country is None:
            return frozenset()
        cached = self._holiday_dates_by_year.get(year)
        if cached is None:
            found = holidays_package.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=year
            )
            cached = self._holiday_dates_by_year[year] = frozenset(found)
        return cached

    def _chunk(self, index: int) -> _Chunk:
        return self._chunks.get(index) or self._build_chunk(index)

    def _build_chunk(self, index: int) -> _Chunk:
        """Turn every local date that can touch this chunk's UTC window into UTC spans."""
        window_start = index * _CHUNK_SECONDS
        window_end = window_start + _CHUNK_SECONDS
        assert self._zone is not None, "only 24x7 calendars have no zone, and they need no spans"
        segments = _offset_segments(self._zone.key, window_start, window_end)
        # Local wall time is at most a day off UTC, so two days of margin cover every zone.
        first_day = _EPOCH_ORDINAL + window_start // SECONDS_PER_DAY - 2
        last_day = _EPOCH_ORDINAL + window_end // SECONDS_PER_DAY + 2
        spans: list[tuple[int, int, int]] = []
        for ordinal in range(first_day, last_day + 1):
            ranges = self.hours_on(date.fromordinal(ordinal))
            day_wall = (ordinal - _EPOCH_ORDINAL) * SECONDS_PER_DAY
            for start_minute, end_minute in ranges:
                wall_start = day_wall + start_minute * 60
                wall_end = day_wall + end_minute * 60
                # The real instants whose wall clock reads inside [wall_start, wall_end): within
                # each stretch of constant offset that is one interval. A gap yields nothing for
                # the missing wall times, a repeated hour yields an interval in both stretches.
                for segment_start, segment_end, offset in segments:
                    span_start = max(wall_start - offset, segment_start)
                    span_end = min(wall_end - offset, segment_end)
                    if span_start < span_end:
                        spans.append((span_start, span_end, ordinal))
        # Spans of different wall times never overlap in real time, so sorting gives disjoint spans.
        spans.sort()
        chunk = self._chunks[index] = _Chunk(spans)
        return chunk

    def _spans_between(self, a: int, b: int) -> Iterator[tuple[int, int, int]]:
        """The open spans clipped to ``[a, b)``, in order, each with its local date's ordinal."""
        index = a // _CHUNK_SECONDS
        while index * _CHUNK_SECONDS < b:
            chunk = self._chunk(index)
            span = max(bisect_right(chunk.starts, a) - 1, 0)
            for position in range(span, len(chunk.starts)):
                span_start, span_end = max(chunk.starts[position], a), min(chunk.ends[position], b)
                if span_start >= b:
                    return
                if span_start < span_end:
                    yield span_start, span_end, chunk.days[position]
            index += 1

    # -- Formatting helpers -------------------------------------------------------------------------

    def _format_instant(self, t: int) -> str:
        if self._zone is None:
            return _format_utc(t)
        local = datetime.fromtimestamp(t, self._zone)
        return f"{_format_day(local.toordinal())} {local.year} {_format_clock(local)}"

    def _format_due(self, t: int) -> str:
        if self._zone is None:
            return self._format_instant(t)
        # The UTC instant settles which of two repeated wall times on a fall-back night is meant.
        return f"{self._format_instant(t)} ({_format_utc(t)})"


class _Chunk:
    """Sorted disjoint open spans of one UTC window and their running totals of open seconds."""

    __slots__ = ("cum_end", "days", "ends", "starts", "total")

    def __init__(self, spans: Sequence[tuple[int, int, int]]) -> None:
        self.starts = [span[0] for span in spans]
        self.ends = [span[1] for span in spans]
        self.days = [span[2] for span in spans]
        self.cum_end: list[int] = []
        total = 0
        for span_start, span_end, _ in spans:
            total += span_end - span_start
            self.cum_end.append(total)
        self.total = total

    def counted_before(self, t: int) -> int:
        """Open seconds in this chunk before instant ``t``."""
        span = bisect_right(self.starts, t) - 1
        if span < 0:
            return 0
        end = self.ends[span]
        return self.cum_end[span] if t >= end else self.cum_end[span] - (end - t)


@lru_cache(maxsize=512)
def _offset_segments(zone_key: str, window_start: int, window_end: int) -> tuple[tuple[int, int, int], ...]:
    """Split ``[window_start, window_end)`` into stretches of constant UTC offset: (start, end, offset).

    zoneinfo does not publish its transitions, so they are found by probing the offset and then
    pinning each change to the second by bisection. Shared by every calendar in the same zone.
    """
    zone = ZoneInfo(zone_key)

    def offset_at(t: int) -> int:
        offset = datetime.fromtimestamp(t, zone).utcoffset()
        assert offset is not None
        return offset // timedelta(seconds=1)

    segments = []
    segment_start = window_start
    current = offset_at(window_start)
    checked = window_start  # every instant in [segment_start, checked] has offset `current`
    last = window_end - 1
    while checked < last:
        probe = min(checked + _TRANSITION_PROBE_SECONDS, last)
        if offset_at(probe) == current:
            checked = probe
            continue
        low, high = checked, probe
        while high - low > 1:
            middle = (low + high) // 2
            if offset_at(middle) == current:
                low = middle
            else:
                high = middle
        segments.append((segment_start, high, current))
        segment_start, current, checked = high, offset_at(high), high
    segments.append((segment_start, window_end, current))
    return tuple(segments)


def _normalised_ranges(ranges: Sequence[TimeRange], what: str) -> tuple[TimeRange, ...]:
    """Check ranges and merge overlapping or touching ones, so a day's spans never overlap."""
    checked = []
    for time_range in ranges:
        start, end = time_range
        if not (isinstance(start, int) and isinstance(end, int)):
            raise TypeError(f"{what}: {time_range!r} must be whole minutes")
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(
                f"{what}: {_format_minutes(start)}-{_format_minutes(end)} must end after it starts, "
                "within 00:00-24:00"
            )
        checked.append((start, end))
    merged: list[TimeRange] = []
    for start, end in sorted(checked):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _describe_weekly(hours_by_weekday: Sequence[tuple[TimeRange, ...]]) -> str:
    """ "Mon–Fri 08:00–18:00, Sat 10:00–14:00": runs of consecutive days with the same hours."""
    parts = []
    weekday = 0
    while weekday < 7:
        hours = hours_by_weekday[weekday]
        run_end = weekday
        while run_end + 1 < 7 and hours_by_weekday[run_end + 1] == hours:
            run_end += 1
        if hours:
            days = (
                _DAY_NAMES[weekday] if run_end == weekday else f"{_DAY_NAMES[weekday]}–{_DAY_NAMES[run_end]}"
            )
            parts.append(f"{days} {_describe_ranges(hours)}")
        weekday = run_end + 1
    return ", ".join(parts)


def _describe_ranges(ranges: Sequence[TimeRange]) -> str:
    return " and ".join(f"{_format_minutes(start)}–{_format_minutes(end)}" for start, end in ranges)


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_CLOCK_WORDS = tuple(f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60))


def _format_clock(local: datetime) -> str:
    clock = _CLOCK_WORDS[local.hour * 60 + local.minute]
    return f"{clock}:{local.second:02d}" if local.second else clock


_DAY_WORDS: dict[int, str] = {}
_UTC_DAYS: dict[int, str] = {}
_UTC_CLOCK = tuple(f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60))
_UTC_SECONDS = tuple(f"{second:02d}Z" for second in range(60))


def _format_day(ordinal: int) -> str:
    """ "Fri 4 Dec" for a proleptic Gregorian ordinal (memoised: explanations name few days)."""
    words = _DAY_WORDS.get(ordinal)
    if words is None:
        day = date.fromordinal(ordinal)
        words = _DAY_WORDS[ordinal] = f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]}"
    return words


def _format_utc(t: int) -> str:
    """POSIX seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (``strftime`` of the UTC datetime, faster)."""
    days, rest = divmod(t, SECONDS_PER_DAY)
    day = _UTC_DAYS.get(days)
    if day is None:
        year = date.fromordinal(_EPOCH_ORDINAL + days).year
        if year < 1000:  # strftime does not pad such years; stay identical to it
            return _to_datetime(t).strftime("%Y-%m-%dT%H:%M:%SZ")
        day = _UTC_DAYS[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat() + "T"
    return day + _UTC_CLOCK[rest // 60] + _UTC_SECONDS[rest % 60]


@lru_cache(maxsize=4096)
def format_duration(seconds: int) -> str:
    """ "3 h 30 min", "45 s", "0 min": whole units only, so the parts add up exactly."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 min"


def _to_seconds(t: datetime) -> int:
    """Whole POSIX seconds of an aware datetime, sub-second parts floored."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{t!r} has no time zone; business time needs an aware datetime")
    # timedelta keeps days and seconds normalised, so this is exact integer flooring.
    since_epoch = t - _EPOCH
    return since_epoch.days * SECONDS_PER_DAY + since_epoch.seconds


def _to_datetime(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
