# ruff: noqa: E501 - expected messages are whole lines, kept whole so that they read as printed
"""Durations (``1h30m``) and opening hours (``mon-fri: "09:00-17:00"``): parsing, messages, round trips."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charterdesk.protocol.durations import Duration, DurationError, format_seconds, in_words, parse_duration
from charterdesk.protocol.hours import HoursError, format_minutes, parse_days, parse_ranges

# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("8h", 28800),
        ("1h30m", 5400),
        ("2d", 172800),
        ("45s", 45),
        ("1.5h", 5400),
        ("1h 30m", 5400),
    ],
)
def test_a_duration_is_read_in_seconds_and_keeps_its_text(text, seconds):
    """30m is 1800 s, 1h30m and 1.5h are 5400 s, 2d is 172800 s; the duration keeps its text without spaces."""
    duration = parse_duration(text)
    assert duration.seconds == seconds
    assert duration.text == text.replace(" ", "")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8 hours", "'8 hours' is not a duration; write 8h"),
        ("1 hour 30 minutes", "'1 hour 30 minutes' is not a duration; write 1h30m"),
        ("30M", "'30M' is not a duration; units are lower-case: write 30m"),
        (30, "'30' is not a duration: it has no unit; write 30s, 30m or 30h"),
        (
            "soon",
            "'soon' is not a duration; write a number with a unit s, m, h or d, such as 30m, 8h or 1h30m",
        ),
        ("0m", "'0m' must be longer than zero"),
        ("0.5s", "'0.5s' is not a whole number of seconds"),
        (True, "True is not a duration; write it as a number with a unit, such as 8h"),
    ],
)
def test_a_bad_duration_says_how_to_write_it(value, message):
    """A duration written '8 hours', '30M', 30, 'soon', '0m' or '0.5s' is refused with a message saying how to
    write it."""
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


@given(st.integers(min_value=1, max_value=10 * 365 * 86400))
def test_formatting_seconds_and_reading_them_back_is_the_identity(seconds):
    """Any whole number of seconds up to ten years, written as a duration and read back, is the same duration."""
    text = format_seconds(seconds)
    assert parse_duration(text) == Duration(seconds, text)


@given(st.integers(0, 30), st.integers(0, 47), st.integers(0, 59), st.integers(0, 59))
def test_any_sum_of_units_reads_as_its_total(days, hours, minutes, secs):
    """Any mix of days, hours, minutes and seconds (such as 2d47h5m) reads as their total in seconds."""
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    text = "".join(f"{n}{u}" for n, u in parts if n)
    total = days * 86400 + hours * 3600 + minutes * 60 + secs
    if total == 0:
        return
    assert parse_duration(text).seconds == total


def test_a_duration_in_words():
    """5400 seconds reads '1 hour 30 minutes', 2d reads '2 days', 0 reads '0 seconds'."""
    assert in_words(5400) == "1 hour 30 minutes"
    assert parse_duration("2d").in_words() == "2 days"
    assert in_words(0) == "0 seconds"


# --------------------------------------------------------------------------- days


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat", [5]),
        ("sat,sun", [5, 6]),
        ("Monday", [0]),
        ("mon-wed,fri", [0, 1, 2, 4]),
    ],
)
def test_days_and_day_ranges(spec, days):
    """mon-fri, sat,sun, Monday and mon-wed,fri read as the weekdays they name (Monday is 0)."""
    assert parse_days(spec) == days


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "sat-mon",
            "'sat-mon': a day range runs forwards from Monday to Sunday, such as mon-fri; "
            "for a range across the weekend write sat-sun,mon",
        ),
        (
            "weekdays",
            "'weekdays' is not a day or range of days; use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri",
        ),
    ],
)
def test_bad_days_say_how_to_write_them(spec, message):
    """A backwards day range (sat-mon) or an unknown day ('weekdays') is refused with how to write it."""
    with pytest.raises(HoursError) as caught:
        parse_days(spec)
    assert str(caught.value) == message


# --------------------------------------------------------------------------- hour ranges


def test_ranges_are_read_in_minutes_and_sorted():
    """Hour ranges are read as minutes after midnight and sorted; 00:00-24:00 is the whole day."""
    assert parse_ranges("13:00-15:00, 10:00-12:00") == [(600, 720), (780, 900)]
    assert parse_ranges("00:00-24:00") == [(0, 1440)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("9-17", "'9-17' is not an hour range; write 09:00-17:00"),
        ("9am-5:30pm", "'9am-5:30pm' is not an hour range; write 09:00-17:30"),
        ("closed", "'closed' is not an hour range; to close a day, leave it out of the hours"),
        (
            "22:00-02:00",
            "'22:00-02:00' ends before it starts; a range cannot pass midnight, so end it at 24:00 "
            "and start the next day at 00:00",
        ),
        ("10:00-10:00", "'10:00-10:00' is empty: it ends when it starts"),
        (
            "09:00-17:00,16:00-18:00",
            "09:00-17:00 and 16:00-18:00 overlap; write them as one range, 09:00-18:00",
        ),
        (
            "24:00-24:00",
            "'24:00-24:00' has a time that does not exist; times run from 00:00 to 24:00 (24:00 only as an end)",
        ),
        (
            "09:60-10:00",
            "'09:60-10:00' has a time that does not exist; times run from 00:00 to 24:00 (24:00 only as an end)",
        ),
    ],
)
def test_bad_ranges_say_how_to_write_them(spec, message):
    """An hour range such as '9-17', '9am-5:30pm', 'closed', one past midnight, an empty one, overlapping ones
    or a time that does not exist is refused with how to write it."""
    with pytest.raises(HoursError) as caught:
        parse_ranges(spec)
    assert str(caught.value) == message


_minute = st.integers(min_value=0, max_value=1440)
_range = st.tuples(_minute, _minute)


@given(st.lists(_range, min_size=1, max_size=5))
def test_parse_ranges_accepts_exactly_well_formed_ranges_that_do_not_overlap(ranges):
    """Any list of (start, end) pairs written out is accepted iff each is non-empty and none overlap."""
    text = ",".join(f"{format_minutes(a)}-{format_minutes(b)}" for a, b in ranges)
    ordered = sorted(ranges)
    well_formed = all(a < b and a < 1440 for a, b in ranges)
    apart = all(later[0] >= earlier[1] for earlier, later in pairwise(ordered))
    if well_formed and apart:
        assert parse_ranges(text) == ordered
    else:
        with pytest.raises(HoursError):
            parse_ranges(text)
