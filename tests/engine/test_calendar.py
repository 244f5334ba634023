"""Worked examples for business time, each computed by hand from the calendar's rules.

Dates are in 2026 unless said otherwise: Fri 4 Dec, Thanksgiving Thu 26 Nov, DST in
Europe/Berlin on Sun 29 Mar / Sun 25 Oct, America/New_York on Sun 8 Mar / Sun 1 Nov,
Australia/Sydney ends Sun 5 Apr and starts Sun 4 Oct.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from charterdesk.engine.calendar import COUNT_LIMIT_SECONDS, HORIZON_SECONDS, BusinessCalendar, TimeRange

HOUR = 3600
MINUTE = 60
WEEKDAYS = range(5)
EVERY_DAY = range(7)


def hours(*ranges: str) -> list[TimeRange]:
    """Open hours as the protocol writes them: hours("09:00-12:00", "13:00-24:00")."""
    result = []
    for text in ranges:
        start, end = text.split("-")
        result.append((_minutes(start), _minutes(end)))
    return result


def _minutes(clock: str) -> int:
    hour, minute = clock.split(":")
    return int(hour) * 60 + int(minute)


def local(zone: str, wall_time: str, *, fold: int = 0) -> int:
    """POSIX seconds of a local wall time "YYYY-MM-DD HH:MM" (fold=1: the second of two)."""
    naive = datetime.fromisoformat(wall_time)
    return int(naive.replace(tzinfo=ZoneInfo(zone), fold=fold).timestamp())


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"
SYDNEY = "Australia/Sydney"
LONDON = "Europe/London"


def office() -> BusinessCalendar:
    """The protocol's example office: Mon–Fri 08:00–18:00, Sat 10:00–14:00, US (NY) holidays."""
    return BusinessCalendar(
        id="office",
        timezone=NEW_YORK,
        weekly={**dict.fromkeys(WEEKDAYS, hours("08:00-18:00")), 5: hours("10:00-14:00")},
        holiday_country="US",
        holiday_subdivision="NY",
        closed=[date(2026, 12, 24)],
    )


def lunch_office(zone: str = LONDON) -> BusinessCalendar:
    return BusinessCalendar(
        timezone=zone, weekly=dict.fromkeys(WEEKDAYS, hours("09:00-12:00", "13:00-17:00"))
    )


def every_day(zone: str, *ranges: str) -> BusinessCalendar:
    return BusinessCalendar(timezone=zone, weekly=dict.fromkeys(EVERY_DAY, hours(*ranges)))


# -- Weekends, opening and closing ---------------------------------------------------------------


def test_friday_evening_ticket_runs_over_saturday_into_monday() -> None:
    """A ticket opened Friday 17:30 with 8 business hours is due Monday 11:30."""
    # 0.5 h Friday to 18:00, 4 h Saturday 10:00-14:00, 3.5 h Monday from 08:00.
    due = office().add_seconds(local(NEW_YORK, "2026-12-04 17:30"), 8 * HOUR)
    assert due == local(NEW_YORK, "2026-12-07 11:30")


def test_target_reached_exactly_at_closing_time_is_due_at_closing() -> None:
    """A ticket opened Friday 17:00 with 1 business hour is due Friday 18:00, not at Saturday's opening."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-04 17:00"), HOUR)
    assert due == local(NEW_YORK, "2026-12-04 18:00")


def test_zero_target_is_due_at_the_start_even_when_closed() -> None:
    """A zero target on a ticket opened Sunday noon is due Sunday noon."""
    start = local(NEW_YORK, "2026-12-06 12:00")
    assert office().add_seconds(start, 0) == start


def test_ticket_opened_before_opening_starts_counting_at_opening() -> None:
    """A ticket opened Monday 06:00 with 2 business hours is due Monday 10:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-07 06:00"), 2 * HOUR)
    assert due == local(NEW_YORK, "2026-12-07 10:00")


def test_ticket_opened_on_closed_sunday_waits_for_monday() -> None:
    """A ticket opened Sunday noon with 1 business hour is due Monday 09:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-06 12:00"), HOUR)
    assert due == local(NEW_YORK, "2026-12-07 09:00")


def test_ticket_opened_at_closing_time_starts_next_opening() -> None:
    """A ticket opened Friday 18:00 sharp with 1 business hour is due Saturday 11:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-04 18:00"), HOUR)
    assert due == local(NEW_YORK, "2026-12-05 11:00")


def test_saturday_short_hours_count() -> None:
    """A ticket opened Saturday 13:00 with 2 business hours is due Monday 09:00 (1 h Sat, 1 h Mon)."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-05 13:00"), 2 * HOUR)
    assert due == local(NEW_YORK, "2026-12-07 09:00")


def test_full_day_from_opening_ends_at_closing() -> None:
    """A ticket opened Monday 08:00 with 10 business hours is due Monday 18:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-07 08:00"), 10 * HOUR)
    assert due == local(NEW_YORK, "2026-12-07 18:00")


def test_week_of_business_time() -> None:
    """Between Monday 08:00 and the next Monday 08:00 lie 54 business hours (5 × 10 h + 4 h)."""
    counted = office().between_seconds(
        local(NEW_YORK, "2026-12-07 08:00"), local(NEW_YORK, "2026-12-14 08:00")
    )
    assert counted == 54 * HOUR


# -- Several ranges a day and hours ending 24:00 ---------------------------------------------------


def test_lunch_break_is_not_counted() -> None:
    """A ticket opened Monday 11:30 with 1 business hour is due Monday 13:30, after lunch."""
    due = lunch_office().add_seconds(local(LONDON, "2026-12-07 11:30"), HOUR)
    assert due == local(LONDON, "2026-12-07 13:30")


def test_target_reached_at_lunch_is_due_at_lunch() -> None:
    """A ticket opened Monday 11:00 with 1 business hour is due Monday 12:00, as lunch starts."""
    due = lunch_office().add_seconds(local(LONDON, "2026-12-07 11:00"), HOUR)
    assert due == local(LONDON, "2026-12-07 12:00")


def test_open_and_next_opening_around_lunch() -> None:
    """At 12:30 the desk is at lunch and reopens at 13:00; at 12:00 sharp it has just closed."""
    calendar = lunch_office()
    assert not calendar.is_open_at(local(LONDON, "2026-12-07 12:30"))
    assert not calendar.is_open_at(local(LONDON, "2026-12-07 12:00"))
    assert calendar.is_open_at(local(LONDON, "2026-12-07 13:00"))
    assert calendar.next_open_at(local(LONDON, "2026-12-07 12:00")) == local(LONDON, "2026-12-07 13:00")
    assert calendar.next_open_at(local(LONDON, "2026-12-07 14:00")) == local(LONDON, "2026-12-07 14:00")


def test_next_opening_after_friday_close_is_monday() -> None:
    """After Friday 17:00 the lunch-break office next opens Monday 09:00."""
    opening = lunch_office().next_open_at(local(LONDON, "2026-12-04 17:00"))
    assert opening == local(LONDON, "2026-12-07 09:00")


def test_evening_shift_ending_at_midnight() -> None:
    """An evening shift 16:00–24:00: Monday 23:00 plus 2 business hours is due Tuesday 17:00."""
    calendar = BusinessCalendar(timezone="Asia/Tokyo", weekly=dict.fromkeys(WEEKDAYS, hours("16:00-24:00")))
    due = calendar.add_seconds(local("Asia/Tokyo", "2026-12-07 23:00"), 2 * HOUR)
    assert due == local("Asia/Tokyo", "2026-12-08 17:00")


def test_target_reached_at_midnight_closing_is_due_at_midnight() -> None:
    """With hours ending 24:00, Friday 22:00 plus 2 business hours is due at midnight, Saturday 00:00."""
    calendar = BusinessCalendar(timezone="Asia/Tokyo", weekly=dict.fromkeys(WEEKDAYS, hours("16:00-24:00")))
    due = calendar.add_seconds(local("Asia/Tokyo", "2026-12-04 22:00"), 2 * HOUR)
    assert due == local("Asia/Tokyo", "2026-12-05 00:00")


def test_hours_to_midnight_and_from_midnight_run_on() -> None:
    """Open all day Monday and Tuesday: Monday 23:00 plus 2 business hours is due Tuesday 01:00."""
    calendar = BusinessCalendar(
        timezone="Asia/Tokyo", weekly={0: hours("00:00-24:00"), 1: hours("00:00-24:00")}
    )
    due = calendar.add_seconds(local("Asia/Tokyo", "2026-12-07 23:00"), 2 * HOUR)
    assert due == local("Asia/Tokyo", "2026-12-08 01:00")


# -- Public holidays of several countries, closed and open dates ----------------------------------


def test_thanksgiving_is_skipped() -> None:
    """A ticket opened Wednesday 17:00 before Thanksgiving with 2 business hours is due Friday 09:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-11-25 17:00"), 2 * HOUR)
    assert due == local(NEW_YORK, "2026-11-27 09:00")


def test_new_york_state_holiday_is_skipped() -> None:
    """Lincoln's Birthday (Thu 12 Feb) is a New York holiday: Wednesday 18:00 plus 1 h is due Friday 09:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-02-11 18:00"), HOUR)
    assert due == local(NEW_YORK, "2026-02-13 09:00")


def test_extra_closed_date_and_christmas() -> None:
    """Closed Thu 24 Dec and Christmas Fri 25 Dec: Wednesday 17:00 plus 4 h is due Saturday 26 Dec 13:00."""
    due = office().add_seconds(local(NEW_YORK, "2026-12-23 17:00"), 4 * HOUR)
    assert due == local(NEW_YORK, "2026-12-26 13:00")


def test_between_across_thanksgiving() -> None:
    """From Wednesday 25 Nov 08:00 to Monday 30 Nov 08:00: 10 h Wed, 0 Thu, 10 h Fri, 4 h Sat = 24 h."""
    counted = office().between(
        datetime(2026, 11, 25, 8, tzinfo=ZoneInfo(NEW_YORK)),
        datetime(2026, 11, 30, 8, tzinfo=ZoneInfo(NEW_YORK)),
    )
    assert counted == timedelta(hours=24)


def test_berlin_easter_holidays() -> None:
    """In Berlin, Thursday 2 Apr 16:00 plus 2 business hours is due Tuesday 7 Apr 10:00, after Easter."""
    # Good Friday 3 Apr and Easter Monday 6 Apr are public holidays in Berlin.
    calendar = BusinessCalendar(
        timezone=BERLIN,
        weekly=dict.fromkeys(WEEKDAYS, hours("09:00-17:00")),
        holiday_country="DE",
        holiday_subdivision="BE",
    )
    due = calendar.add_seconds(local(BERLIN, "2026-04-02 16:00"), 2 * HOUR)
    assert due == local(BERLIN, "2026-04-07 10:00")


def test_berlin_womens_day_is_a_holiday_only_in_berlin() -> None:
    """Women's Day, Mon 8 Mar 2027, closes the Berlin desk but not the Bavarian one."""
    weekly = dict.fromkeys(WEEKDAYS, hours("09:00-17:00"))
    berlin = BusinessCalendar(timezone=BERLIN, weekly=weekly, holiday_country="DE", holiday_subdivision="BE")
    bavaria = BusinessCalendar(timezone=BERLIN, weekly=weekly, holiday_country="DE", holiday_subdivision="BY")
    start = local(BERLIN, "2027-03-05 16:00")
    assert berlin.add_seconds(start, 2 * HOUR) == local(BERLIN, "2027-03-09 10:00")
    assert bavaria.add_seconds(start, 2 * HOUR) == local(BERLIN, "2027-03-08 10:00")


def test_sydney_australia_day_and_observed_anzac_day() -> None:
    """In Sydney, Australia Day (Mon 26 Jan) and ANZAC Day observed (Mon 27 Apr) push due times to Tuesday."""
    calendar = BusinessCalendar(
        timezone=SYDNEY,
        weekly=dict.fromkeys(WEEKDAYS, hours("09:00-17:00")),
        holiday_country="AU",
        holiday_subdivision="NSW",
    )
    assert calendar.add_seconds(local(SYDNEY, "2026-01-23 16:00"), 2 * HOUR) == local(
        SYDNEY, "2026-01-27 10:00"
    )
    assert calendar.add_seconds(local(SYDNEY, "2026-04-24 16:00"), 2 * HOUR) == local(
        SYDNEY, "2026-04-28 10:00"
    )


def test_united_kingdom_boxing_day_observed() -> None:
    """In London, Thursday 24 Dec 17:00 plus 1 h is due Tuesday 29 Dec 09:30."""
    # 30 min Thursday; Christmas Friday; Boxing Day (Saturday) is observed Monday 28 Dec.
    calendar = BusinessCalendar(
        timezone=LONDON, weekly=dict.fromkeys(WEEKDAYS, hours("09:00-17:30")), holiday_country="GB"
    )
    due = calendar.add_seconds(local(LONDON, "2026-12-24 17:00"), HOUR)
    assert due == local(LONDON, "2026-12-29 09:30")


def test_extra_open_date_on_a_holiday() -> None:
    """Opening Christmas Day 10:00–14:00: Wednesday 23 Dec 17:00 plus 4 h is due Friday 25 Dec 13:00."""
    calendar = BusinessCalendar(
        timezone=NEW_YORK,
        weekly=dict.fromkeys(WEEKDAYS, hours("08:00-18:00")),
        holiday_country="US",
        closed=[date(2026, 12, 24)],
        open={date(2026, 12, 25): hours("10:00-14:00")},
    )
    due = calendar.add_seconds(local(NEW_YORK, "2026-12-23 17:00"), 4 * HOUR)
    assert due == local(NEW_YORK, "2026-12-25 13:00")


def test_extra_open_date_on_a_sunday() -> None:
    """Opening Sunday 6 Dec 12:00–16:00: Saturday 13:00 plus 3 h is due Sunday 14:00 (1 h Sat, 2 h Sun)."""
    calendar = BusinessCalendar(
        timezone=NEW_YORK,
        weekly={**dict.fromkeys(WEEKDAYS, hours("08:00-18:00")), 5: hours("10:00-14:00")},
        open={date(2026, 12, 6): hours("12:00-16:00")},
    )
    due = calendar.add_seconds(local(NEW_YORK, "2026-12-05 13:00"), 3 * HOUR)
    assert due == local(NEW_YORK, "2026-12-06 14:00")


def test_extra_open_date_replaces_the_days_usual_hours() -> None:
    """Saturday 5 Dec open only 10:00–11:00: Friday 17:30 plus 8 h is due Monday 14:30 (0.5 h, 1 h, 6.5 h)."""
    calendar = BusinessCalendar(
        timezone=NEW_YORK,
        weekly={**dict.fromkeys(WEEKDAYS, hours("08:00-18:00")), 5: hours("10:00-14:00")},
        open={date(2026, 12, 5): hours("10:00-11:00")},
    )
    due = calendar.add_seconds(local(NEW_YORK, "2026-12-04 17:30"), 8 * HOUR)
    assert due == local(NEW_YORK, "2026-12-07 14:30")


def test_holidays_close_a_24x7_calendar_that_names_them() -> None:
    """A 24x7 desk closed on US holidays: Wednesday 23:00 before Thanksgiving + 2 h is Friday 01:00."""
    calendar = BusinessCalendar(timezone=NEW_YORK, weekly=None, holiday_country="US")
    due = calendar.add_seconds(local(NEW_YORK, "2026-11-25 23:00"), 2 * HOUR)
    assert due == local(NEW_YORK, "2026-11-27 01:00")


# -- Daylight saving time --------------------------------------------------------------------------


def test_berlin_spring_forward_day_has_23_hours() -> None:
    """Open all day in Berlin, Sunday 29 Mar has 23 business hours: the missing hour is not counted."""
    calendar = every_day(BERLIN, "00:00-24:00")
    assert (
        calendar.between_seconds(local(BERLIN, "2026-03-29 00:00"), local(BERLIN, "2026-03-30 00:00"))
        == 23 * HOUR
    )
    assert calendar.add_seconds(local(BERLIN, "2026-03-29 00:00"), 3 * HOUR) == local(
        BERLIN, "2026-03-29 04:00"
    )


def test_berlin_spring_forward_night_shift_is_two_real_hours() -> None:
    """Open 01:00–04:00 in Berlin: 29 Mar has 2 real hours, so Sunday 01:00 + 2.5 h is due Monday 01:30."""
    calendar = every_day(BERLIN, "01:00-04:00")
    start = local(BERLIN, "2026-03-29 01:00")
    assert calendar.add_seconds(start, 2 * HOUR) == local(BERLIN, "2026-03-29 04:00")
    assert calendar.add_seconds(start, 2 * HOUR + 30 * MINUTE) == local(BERLIN, "2026-03-30 01:30")


def test_berlin_fall_back_night_shift_counts_the_repeated_hour_twice() -> None:
    """Open 01:00–04:00 in Berlin: on 25 Oct that is 4 real hours; 2.5 h from 01:00 CEST is 02:30 CET."""
    calendar = every_day(BERLIN, "01:00-04:00")
    start = utc("2026-10-24 23:00")  # 01:00 CEST
    assert calendar.between_seconds(start, utc("2026-10-25 03:00")) == 4 * HOUR  # to 04:00 CET
    assert calendar.add_seconds(start, 4 * HOUR) == utc("2026-10-25 03:00")
    assert calendar.add_seconds(start, 2 * HOUR + 30 * MINUTE) == utc("2026-10-25 01:30")  # the second 02:30


def test_open_only_within_the_repeated_or_missing_hour() -> None:
    """Open Sundays 02:15–02:45 in Berlin: 1 hour on the fall-back Sunday, nothing on the spring one."""
    calendar = BusinessCalendar(timezone=BERLIN, weekly={6: hours("02:15-02:45")})
    autumn = calendar.between_seconds(local(BERLIN, "2026-10-25 00:00"), local(BERLIN, "2026-10-26 00:00"))
    spring = calendar.between_seconds(local(BERLIN, "2026-03-29 00:00"), local(BERLIN, "2026-03-30 00:00"))
    assert (autumn, spring) == (HOUR, 0)
    assert calendar.is_open_at(utc("2026-10-25 00:20"))  # 02:20 CEST
    assert not calendar.is_open_at(utc("2026-10-25 00:50"))  # 02:50 CEST
    assert calendar.is_open_at(utc("2026-10-25 01:20"))  # 02:20 CET


def test_new_york_spring_forward_night_shift() -> None:
    """Open 01:00–04:00 in New York: Sunday 8 Mar 01:00 EST plus 1.5 h is due 03:30 EDT."""
    calendar = every_day(NEW_YORK, "01:00-04:00")
    due = calendar.add_seconds(utc("2026-03-08 06:00"), HOUR + 30 * MINUTE)
    assert due == utc("2026-03-08 07:30")  # 03:30 EDT
    assert calendar.between_seconds(utc("2026-03-08 06:00"), utc("2026-03-08 08:00")) == 2 * HOUR


def test_new_york_fall_back_span_is_three_real_hours() -> None:
    """Open 01:00–03:00 in New York: on Sunday 1 Nov that is 3 real hours, 01:00 EDT to 03:00 EST."""
    calendar = every_day(NEW_YORK, "01:00-03:00")
    assert calendar.between_seconds(utc("2026-11-01 04:00"), utc("2026-11-01 09:00")) == 3 * HOUR
    assert calendar.add_seconds(utc("2026-11-01 05:00"), 3 * HOUR) == utc("2026-11-01 08:00")


def test_new_york_fall_back_day_has_25_hours() -> None:
    """Open around the clock in New York, Sunday 1 Nov has 25 business hours."""
    calendar = every_day(NEW_YORK, "00:00-24:00")
    assert (
        calendar.between_seconds(local(NEW_YORK, "2026-11-01 00:00"), local(NEW_YORK, "2026-11-02 00:00"))
        == 25 * HOUR
    )


def test_sydney_autumn_fall_back_day_has_25_hours() -> None:
    """Open around the clock in Sydney, Sunday 5 Apr (daylight saving ends) has 25 business hours."""
    calendar = every_day(SYDNEY, "00:00-24:00")
    assert calendar.between_seconds(utc("2026-04-04 13:00"), utc("2026-04-05 14:00")) == 25 * HOUR


def test_sydney_spring_forward_skips_the_missing_hour() -> None:
    """Open all day in Sydney: Sunday 4 Oct 01:30 AEST plus 1 h is due 03:30 AEDT; the day has 23 hours."""
    calendar = every_day(SYDNEY, "00:00-24:00")
    assert calendar.add_seconds(utc("2026-10-03 15:30"), HOUR) == utc("2026-10-03 16:30")
    assert (
        calendar.between_seconds(local(SYDNEY, "2026-10-04 00:00"), local(SYDNEY, "2026-10-05 00:00"))
        == 23 * HOUR
    )
    assert local(SYDNEY, "2026-10-04 03:30") == utc("2026-10-03 16:30")


# -- No hours, far away hours, around the clock ---------------------------------------------------


def test_calendar_with_no_open_hours_never_falls_due() -> None:
    """A calendar with no open hours gives no due time, no opening and no business time."""
    calendar = BusinessCalendar(timezone=BERLIN, weekly={})
    start = local(BERLIN, "2026-12-07 09:00")
    assert calendar.add_seconds(start, HOUR) is None
    assert calendar.next_open_at(start) is None
    assert calendar.between_seconds(start, start + 30 * 86400) == 0
    assert not calendar.is_open_at(start)
    assert calendar.add_seconds(start, 0) == start


def test_only_an_extra_open_date_counts() -> None:
    """A calendar open only on 26 Dec 10:00–14:00: 1 h from 1 Dec is due 26 Dec 11:00."""
    calendar = BusinessCalendar(timezone=NEW_YORK, weekly={}, open={date(2026, 12, 26): hours("10:00-14:00")})
    assert calendar.add_seconds(local(NEW_YORK, "2026-12-01 00:00"), HOUR) == local(
        NEW_YORK, "2026-12-26 11:00"
    )
    assert calendar.next_open_at(local(NEW_YORK, "2026-12-01 00:00")) == local(NEW_YORK, "2026-12-26 10:00")


def test_no_due_time_beyond_two_years() -> None:
    """A calendar whose only open date is three years off gives no due time and no opening."""
    calendar = BusinessCalendar(timezone=NEW_YORK, weekly={}, open={date(2029, 12, 26): hours("10:00-14:00")})
    start = local(NEW_YORK, "2026-12-01 00:00")
    assert calendar.add_seconds(start, HOUR) is None
    assert calendar.next_open_at(start) is None
    assert calendar.between_seconds(start, local(NEW_YORK, "2030-01-01 00:00")) == 4 * HOUR


def test_around_the_clock_counts_elapsed_time() -> None:
    """Around the clock, 30 minutes from any instant is 30 minutes later, across a DST change too."""
    calendar = BusinessCalendar(id="always", timezone=None, weekly=None)
    start = utc("2026-11-01 05:30")
    assert calendar.add_seconds(start, 30 * MINUTE) == start + 30 * MINUTE
    assert calendar.between_seconds(start, start + 7 * 86400) == 7 * 86400
    assert calendar.is_open_at(start)
    assert calendar.next_open_at(start) == start
    assert calendar.add_seconds(start, HORIZON_SECONDS + 1) == start + HORIZON_SECONDS + 1
    assert calendar.add_seconds(start, COUNT_LIMIT_SECONDS + 1) is None


def test_a_due_time_years_away_is_given_when_the_calendar_keeps_opening() -> None:
    """One hour a week (Mondays 09:00-10:00 Berlin), 200 h from Mon 7 Dec 2026 14:00: the 200th
    Monday from 14 Dec, Mon 7 Oct 2030 10:00 (CEST, 08:00 UTC), almost four years on."""
    calendar = BusinessCalendar(timezone=BERLIN, weekly={0: hours("09:00-10:00")})
    start = local(BERLIN, "2026-12-07 14:00")
    due = calendar.add_seconds(start, 200 * HOUR)
    assert due == utc("2030-10-07 08:00")
    assert calendar.between_seconds(start, due) == 200 * HOUR


def test_two_years_closed_in_the_middle_of_a_count_means_no_due_time() -> None:
    """Open only on 1 Dec 2026 and on 1 Dec 2029 (10:00-14:00 New York): 5 h from the first
    morning never comes due, because the count meets three years without open hours."""
    calendar = BusinessCalendar(
        timezone=NEW_YORK,
        weekly={},
        open={date(2026, 12, 1): hours("10:00-14:00"), date(2029, 12, 1): hours("10:00-14:00")},
    )
    start = local(NEW_YORK, "2026-12-01 10:00")
    assert calendar.add_seconds(start, 4 * HOUR) == local(NEW_YORK, "2026-12-01 14:00")
    assert calendar.add_seconds(start, 5 * HOUR) is None


def test_between_is_zero_when_the_end_is_not_after_the_start() -> None:
    """Business time from a later instant to an earlier one is zero."""
    start = local(NEW_YORK, "2026-12-07 10:00")
    assert office().between_seconds(start, start - HOUR) == 0
    assert office().between_seconds(start, start) == 0


def test_negative_duration_is_refused() -> None:
    """A negative target is a programming error, not a due time in the past."""
    with pytest.raises(ValueError, match="negative"):
        office().add_seconds(0, -1)


# -- The datetime wrappers ---------------------------------------------------------------------


def test_datetime_wrappers_return_aware_utc() -> None:
    """add() and next_open() answer in aware UTC datetimes; Friday 17:30 EST plus 8 h is Monday 16:30 UTC."""
    calendar = office()
    start = datetime(2026, 12, 4, 17, 30, tzinfo=ZoneInfo(NEW_YORK))
    assert calendar.add(start, timedelta(hours=8)) == datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
    assert calendar.next_open(datetime(2026, 12, 6, 12, tzinfo=UTC)) == datetime(2026, 12, 7, 13, tzinfo=UTC)
    assert calendar.is_open(datetime(2026, 12, 7, 13, tzinfo=UTC))
    due = calendar.add(start, timedelta(hours=8))
    assert due is not None and due.tzinfo == UTC


def test_naive_datetime_is_refused() -> None:
    """A time without a zone is ambiguous, so it is refused with a clear message."""
    with pytest.raises(ValueError, match="no time zone"):
        office().add(datetime(2026, 12, 4, 17, 30), timedelta(hours=1))


# -- Words for people ----------------------------------------------------------------------------


def test_explanation_lists_each_days_share() -> None:
    """The explanation of a Friday 17:30 ticket with 8 h shows each day's share and the due time."""
    text = office().explain_add(local(NEW_YORK, "2026-12-04 17:30"), 8 * HOUR)
    assert text == (
        "8 h of business time from Fri 4 Dec 2026 17:30 (America/New_York): "
        "30 min Fri 4 Dec, 4 h Sat 5 Dec, 3 h 30 min Mon 7 Dec "
        "-> due Mon 7 Dec 2026 11:30 (2026-12-07T16:30:00Z)"
    )


def test_long_explanation_collapses_the_middle_days_and_agrees_with_add() -> None:
    """An 80 h target lists the first and last days, collapses the rest, and names add's due instant."""
    calendar = office()
    start = local(NEW_YORK, "2026-12-04 17:30")
    text = calendar.explain_add(start, 80 * HOUR)
    assert "more days" in text
    printed = re.search(r"\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)$", text)
    assert printed is not None
    assert utc(printed.group(1).rstrip("Z")) == calendar.add_seconds(start, 80 * HOUR)


def test_explanation_around_the_clock_and_when_never_due() -> None:
    """Around the clock the explanation is one line; with no open hours it says there is no due time."""
    always = BusinessCalendar(timezone=None, weekly=None)
    assert always.explain_add(utc("2026-12-04 17:30"), 30 * MINUTE) == (
        "30 min around the clock from 2026-12-04T17:30:00Z -> 2026-12-04T18:00:00Z"
    )
    never = BusinessCalendar(timezone=BERLIN, weekly={})
    assert "no due time" in never.explain_add(utc("2026-12-04 17:30"), HOUR)


def test_description_of_the_example_office() -> None:
    """The handbook describes the example office in one line."""
    assert office().describe() == (
        "Mon–Fri 08:00–18:00, Sat 10:00–14:00 (America/New_York); "
        "closed on public holidays of US (NY) and on 2026-12-24"
    )


def test_description_of_other_calendars() -> None:
    """Around the clock, lunch breaks, midnight closing and extra open dates read naturally."""
    assert BusinessCalendar(timezone=None, weekly=None).describe() == "Around the clock (24x7)"
    assert lunch_office().describe() == "Mon–Fri 09:00–12:00 and 13:00–17:00 (Europe/London)"
    calendar = BusinessCalendar(
        timezone="Asia/Tokyo",
        weekly={0: hours("16:00-24:00"), 2: hours("16:00-24:00")},
        open={date(2026, 12, 26): hours("10:00-14:00")},
    )
    assert (
        calendar.describe() == "Mon 16:00–24:00, Wed 16:00–24:00 (Asia/Tokyo); open on 2026-12-26 10:00–14:00"
    )


# -- Bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"timezone": None, "weekly": {0: hours("09:00-17:00")}}, "timezone is required"),
        ({"timezone": "Mars/Olympus", "weekly": None, "holiday_country": "US"}, "not a known IANA"),
        ({"timezone": BERLIN, "weekly": {0: [(600, 540)]}}, "must end after it starts"),
        ({"timezone": BERLIN, "weekly": {0: [(540, 1500)]}}, "must end after it starts"),
        ({"timezone": BERLIN, "weekly": {7: hours("09:00-17:00")}}, "weekday 7"),
        ({"timezone": BERLIN, "weekly": {}, "holiday_country": "XX"}, "no public holidays known"),
        ({"timezone": BERLIN, "weekly": {}, "holiday_country": "DE", "holiday_subdivision": "ZZ"}, "ZZ"),
    ],
)
def test_bad_calendars_are_refused_by_name(arguments: dict[str, object], message: str) -> None:
    """A calendar that cannot be right fails when built, with a message naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)  # type: ignore[arg-type]


def test_overlapping_ranges_are_merged() -> None:
    """Ranges 09:00–12:00 and 11:00–13:00 count as 09:00–13:00, not 5 hours."""
    calendar = BusinessCalendar(timezone=BERLIN, weekly={0: hours("09:00-12:00", "11:00-13:00")})
    counted = calendar.between_seconds(local(BERLIN, "2026-12-07 00:00"), local(BERLIN, "2026-12-08 00:00"))
    assert counted == 4 * HOUR
