"""Properties of business time that must hold for every calendar, checked on random ones.

Calendars get random weekly hours (several ranges a day, sometimes to 24:00), a zone from a list
rich in daylight saving oddities (30-minute shifts, transitions at midnight, 45-minute offsets),
holidays, closed dates and open dates. Instants are drawn across 2026-2027 and, half the time,
within two days of a DST transition, where mistakes hide.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charterdesk.engine.calendar import BusinessCalendar, TimeRange

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # transitions at local midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Kolkata",  # no DST, a half-hour offset
]

# Instants (UTC) at or near the 2026 DST transitions of the zones above.
TRANSITIONS = [
    datetime.fromisoformat(text).replace(tzinfo=UTC)
    for text in [
        "2026-03-08 07:00",  # New York spring forward
        "2026-11-01 06:00",  # New York fall back
        "2026-03-29 01:00",  # Europe spring forward
        "2026-10-25 01:00",  # Europe fall back
        "2026-04-04 16:00",  # Sydney fall back
        "2026-10-03 16:00",  # Sydney spring forward
        "2026-04-05 03:00",  # Santiago fall back
        "2026-09-06 04:00",  # Santiago spring forward
        "2026-04-04 14:00",  # Chatham fall back
        "2026-09-26 14:00",  # Chatham spring forward
    ]
]
FIRST_INSTANT = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
LAST_INSTANT = int(datetime(2027, 12, 31, tzinfo=UTC).timestamp())
TWO_DAYS = 2 * 86_400

PROPERTY_SETTINGS = settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def day_hours(draw: st.DrawFn) -> list[TimeRange]:
    """Zero to three disjoint ranges in one day, on any minute, possibly ending 24:00."""
    cuts = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    always_open_days = draw(st.integers(0, 9)) == 0  # 24x7 with exceptions, now and then
    weekly = None if always_open_days else draw(st.dictionaries(st.integers(0, 6), day_hours()))
    some_dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
    return BusinessCalendar(
        id="random",
        timezone=zone,
        weekly=weekly,
        holiday_country=draw(st.sampled_from([None, None, "US", "DE", "GB"])),
        closed=draw(st.lists(some_dates, max_size=5)),
        open=draw(st.dictionaries(some_dates, day_hours(), max_size=4)),
    )


def near_transition() -> st.SearchStrategy[int]:
    return st.sampled_from(TRANSITIONS).flatmap(
        lambda moment: st.integers(int(moment.timestamp()) - TWO_DAYS, int(moment.timestamp()) + TWO_DAYS)
    )


instants = st.one_of(st.integers(FIRST_INSTANT, LAST_INSTANT), near_transition())
durations = st.one_of(st.integers(0, 4 * 3600), st.integers(0, 300 * 3600))


@PROPERTY_SETTINGS
@given(calendars(), instants, durations, durations)
def test_adding_in_two_steps_is_adding_at_once(
    calendar: BusinessCalendar, start: int, a: int, b: int
) -> None:
    """Counting a, then b more, ends where counting a + b ends."""
    at_once = calendar.add_seconds(start, a + b)
    first = calendar.add_seconds(start, a)
    if first is None:
        assert at_once is None
    elif at_once is not None:
        assert calendar.add_seconds(first, b) == at_once


@PROPERTY_SETTINGS
@given(calendars(), instants, durations)
def test_business_time_up_to_the_due_time_is_the_target(
    calendar: BusinessCalendar, start: int, target: int
) -> None:
    """Between the start and the due time lies exactly the target, and no earlier instant has it."""
    due = calendar.add_seconds(start, target)
    if due is not None:
        assert calendar.between_seconds(start, due) == target
        assert due == start or calendar.between_seconds(start, due - 1) == target - 1


@PROPERTY_SETTINGS
@given(calendars(), instants, instants, durations, durations)
def test_due_time_never_moves_back(calendar: BusinessCalendar, t1: int, t2: int, d1: int, d2: int) -> None:
    """A later start or a longer target never gives an earlier due time."""
    t1, t2 = sorted((t1, t2))
    d1, d2 = sorted((d1, d2))
    due_earlier_start, due_later_start = calendar.add_seconds(t1, d1), calendar.add_seconds(t2, d1)
    if due_earlier_start is not None and due_later_start is not None:
        assert due_earlier_start <= due_later_start
    shorter, longer = calendar.add_seconds(t1, d1), calendar.add_seconds(t1, d2)
    if longer is not None:
        assert shorter is not None and shorter <= longer


@PROPERTY_SETTINGS
@given(calendars(), instants)
def test_open_means_the_next_second_counts(calendar: BusinessCalendar, t: int) -> None:
    """The calendar is open at t exactly when the second from t counts as business time."""
    assert calendar.is_open_at(t) == (calendar.between_seconds(t, t + 1) == 1)


@PROPERTY_SETTINGS
@given(calendars(), instants)
def test_next_opening_is_open_and_nothing_counts_before_it(calendar: BusinessCalendar, t: int) -> None:
    """The next opening is open, not before t, and no business time lies between t and it."""
    opening = calendar.next_open_at(t)
    if opening is not None:
        assert opening >= t
        assert calendar.is_open_at(opening)
        assert calendar.between_seconds(t, opening) == 0
        assert calendar.is_open_at(t) == (opening == t)


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), near_transition())
def test_counted_time_is_the_minutes_whose_wall_clock_is_open(calendar: BusinessCalendar, start: int) -> None:
    """Over two days, business time is the real minutes during which the local wall clock shows open hours.

    An independent, slow reading of the spec's rule: each real minute is counted when the
    clock on the wall then reads a time inside that local date's hours. Spring-forward gaps
    never show on the clock; fall-back hours show twice.
    """
    assert calendar.timezone is not None
    zone = ZoneInfo(calendar.timezone)
    start -= start % 60  # every zone listed has whole-minute offsets, so minutes are exact
    open_minutes = 0
    for minute in range(start, start + TWO_DAYS, 60):
        wall = datetime.fromtimestamp(minute, zone)
        minute_of_day = wall.hour * 60 + wall.minute
        is_open = any(begin <= minute_of_day < end for begin, end in calendar.hours_on(wall.date()))
        assert calendar.is_open_at(minute) == is_open
        open_minutes += is_open
    assert calendar.between_seconds(start, start + TWO_DAYS) == 60 * open_minutes


@PROPERTY_SETTINGS
@given(calendars(), instants, durations)
def test_datetime_wrappers_and_explanation_agree_with_the_core(
    calendar: BusinessCalendar, start: int, target: int
) -> None:
    """add() on datetimes and the printed explanation name the same due time as add_seconds()."""
    due = calendar.add_seconds(start, target)
    aware_start = datetime.fromtimestamp(start, UTC)
    aware_due = calendar.add(aware_start, timedelta(seconds=target))
    assert aware_due == (None if due is None else datetime.fromtimestamp(due, UTC))
    explanation = calendar.explain_add(start, target)
    if due is None:
        assert "no due time" in explanation
    else:
        assert explanation.endswith(f"({datetime.fromtimestamp(due, UTC):%Y-%m-%dT%H:%M:%SZ})")
