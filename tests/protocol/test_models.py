"""The typed models of the protocol: what loading the example gives the engines, and value types."""

from __future__ import annotations

import datetime as dt

import pytest

from charterdesk.protocol.models import Action, Calendar, WeeklyHours, did_you_mean, explain_date

try:
    from ._cases import edited, example_text, load
except ImportError:  # tests/protocol is not a package: pytest put its folder on sys.path
    from _cases import edited, example_text, load


@pytest.fixture(scope="module")
def protocol():
    result = load(example_text())
    assert result.protocol is not None
    return result.protocol


def test_calendars_are_parsed_into_weekly_hours(protocol):
    """The office calendar is open Monday 08:00–18:00 and Saturday 10:00–14:00, closed Sunday and on 24
    December 2026; the always calendar is open round the clock."""
    office = protocol.calendar("office")
    assert isinstance(office.hours, WeeklyHours)
    assert office.hours.days[0] == ((480, 1080),)
    assert office.hours.days[5] == ((600, 840),)
    assert 6 not in office.hours.days
    assert office.holidays.closed == [dt.date(2026, 12, 24)]
    assert protocol.calendar("always").always_open


def test_policy_for_takes_the_first_policy_that_fits(protocol):
    """An urgent vip email gets vip-urgent, an urgent chat gets chat, a low email gets standard (first
    response 24 h); vip-urgent's 30m applies to every priority."""
    vip = protocol.sla.policy_for(priority="urgent", channel="email", group=None, tags={"vip"})
    chat = protocol.sla.policy_for(priority="urgent", channel="chat", group=None, tags=frozenset())
    other = protocol.sla.policy_for(priority="low", channel="email", group=None, tags=set())
    assert (vip.id, chat.id, other.id) == ("vip-urgent", "chat", "standard")
    assert other.targets.first_response.for_priority("low").seconds == 24 * 3600
    assert vip.targets.first_response.for_priority("low").text == "30m"


def test_escalation_rules_expose_their_condition(protocol):
    """The example's three escalation rules read back as written: warn 15m before a first response, breach on
    all four metrics, hand high or urgent tickets to the escalations group."""
    warn, breach, hand = protocol.escalation
    assert (warn.when.condition, warn.when.offset.text, warn.when.metrics()) == (
        "before_breach",
        "15m",
        ("first_response",),
    )
    assert breach.when.condition == "breached" and len(breach.when.metrics()) == 4
    assert hand.when.also.priority == ["high", "urgent"]
    assert hand.do[0] == Action("assign_group", "escalations")


def test_an_empty_hours_map_is_allowed_with_open_dates():
    """A calendar with no weekly hours is accepted when it opens on given dates (1 May 2026, 10:00–12:00)."""
    calendar = Calendar.model_validate(
        {
            "id": "events",
            "timezone": "UTC",
            "hours": {},
            "holidays": {"open": {dt.date(2026, 5, 1): "10:00-12:00"}},
        }
    )
    assert calendar.hours.days == {}
    assert calendar.holidays.open == {dt.date(2026, 5, 1): ((600, 720),)}


def test_hours_given_as_a_list_of_ranges():
    """Saturday written as a list of two ranges (10:00–12:00, 13:00–14:00) is open for both."""
    text = edited(('sat: "10:00-14:00"', 'sat: ["10:00-12:00", "13:00-14:00"]'))
    result = load(text)
    assert result.ok
    assert result.protocol.calendar("office").hours.days[5] == ((600, 720), (780, 840))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-13-01", "'2026-13-01' is not a date: there is no month 13; write YYYY-MM-DD"),
        ("2026-02-29", "'2026-02-29' is not a date: February 2026 has no day 29"),
        ("2026-1-5", "'2026-1-5' is not a date; write it with two-digit month and day: 2026-01-05"),
        ("2026-12-01 09:00", "'2026-12-01 09:00' is a date and a time; write only the date, 2026-12-01"),
        ("soon", "'soon' is not a date; write YYYY-MM-DD, such as 2026-12-24"),
    ],
)
def test_explain_date(value, message):
    """A bad date says what is wrong with it: month 13, 29 February 2026, one-digit parts, a time added, or
    words."""
    assert explain_date(value) == message


def test_did_you_mean():
    """A misspelt name gets a suggestion ('urgnt' -> 'urgent', 'US' -> 'us'); nothing near gets none."""
    assert did_you_mean("urgnt", ["low", "urgent"]) == "; did you mean 'urgent'?"
    assert did_you_mean("US", ["us"]) == "; did you mean 'us'?"
    assert did_you_mean("zzz", ["low", "urgent"]) == ""
