# ruff: noqa: E501 - expected messages are whole lines, kept whole so that they read as printed
"""Malformed protocol files: each problem is reported at its line and column, in plain words.

Every case is the spec's example protocol with one small edit (or a tiny literal file), and
checks the full line ``validate`` prints: ``FILE:LINE:COL: path: message``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

try:
    from ._cases import edited, example_text, lines, load
except ImportError:  # tests/protocol is not a package: pytest put its folder on sys.path
    from _cases import edited, example_text, lines, load


@dataclass(frozen=True)
class Case:
    situation: str
    text: str
    expected: list[str]


CASES = [
    Case(
        "a duration written as '30 minutes'",
        edited(("first_response: 30m", "first_response: 30 minutes")),
        [
            "acme.yaml:108:25: sla.policies[0].targets.first_response: '30 minutes' is not a duration; write 30m"
        ],
    ),
    Case(
        "a duration with an upper-case unit, '30M'",
        edited(("first_response: 30m", "first_response: 30M")),
        [
            "acme.yaml:108:25: sla.policies[0].targets.first_response: '30M' is not a duration; units are lower-case: write 30m"
        ],
    ),
    Case(
        "a duration with no unit at all",
        edited(("first_response: 30m", "first_response: 30")),
        [
            "acme.yaml:108:25: sla.policies[0].targets.first_response: '30' is not a duration: it has no unit; write 30s, 30m or 30h"
        ],
    ),
    Case(
        "format 2, which this desk does not read",
        edited(("format: 1", "format: 2")),
        ["acme.yaml:1:9: format: format must be 1: this desk reads format 1 files, and this one says '2'"],
    ),
    Case(
        "a tab used for indentation",
        edited(("      kind: email", "\tkind: email")),
        [
            "acme.yaml:83:1: not valid YAML: a tab character; YAML indents with spaces only, so replace the tab with spaces"
        ],
    ),
    Case(
        "a [ list that is never closed",
        edited(("title: Customer Support Protocol", "title: [Customer Support Protocol")),
        [
            "acme.yaml:4:8: not valid YAML: the [ list opened at line 3, column 8 is not closed: a ',' or ']' is missing"
        ],
    ),
    Case(
        "a key given twice in one mapping",
        edited(
            (
                "      calendar: office\n      acknowledge: true\n    - id: web",
                "      calendar: office\n      calendar: always\n      acknowledge: true\n    - id: web",
            )
        ),
        [
            "acme.yaml:86:7: channels.customer[0].calendar: 'calendar' is given twice in this mapping (first at line 85); YAML keeps only the last one, so remove one"
        ],
    ),
    Case(
        "an effective date with month 13",
        edited(("effective: 2026-12-01", "effective: 2026-13-01")),
        ["acme.yaml:5:12: effective: '2026-13-01' is not a date: there is no month 13; write YYYY-MM-DD"],
    ),
    Case(
        "a closed date of 30 February",
        edited(("closed: [2026-12-24]", "closed: [2026-02-30]")),
        [
            "acme.yaml:76:16: calendars[0].holidays.closed[0]: '2026-02-30' is not a date: February 2026 has no day 30"
        ],
    ),
    Case(
        "an effective date with a time of day",
        edited(("effective: 2026-12-01", "effective: 2026-12-01 09:00")),
        [
            "acme.yaml:5:12: effective: '2026-12-01 09:00' is a date and a time; write only the date, 2026-12-01"
        ],
    ),
    Case(
        "an effective date without its day",
        edited(("effective: 2026-12-01", "effective: 2026-12")),
        ["acme.yaml:5:12: effective: '2026-12' is not a date; write YYYY-MM-DD, such as 2026-12-24"],
    ),
    Case(
        "a troubleshooting answer deep in a tree that leads nowhere",
        edited(
            ('- {label: "No", resolution: Ask the customer to update the phone first.}', '- {label: "No"}')
        ),
        [
            "acme.yaml:169:17: resolution.troubleshooting[0].answers[1].next.answers[0]: the answer 'No' leads nowhere: give it a 'resolution' (what to do) or a 'next' question"
        ],
    ),
    Case(
        "a troubleshooting answer with both next and resolution",
        edited(
            (
                '        - label: "No"\n          resolution: Ask the customer to reinstall the app (kb:reinstall-app).',
                '        - label: "No"\n          resolution: Ask the customer to reinstall the app (kb:reinstall-app).\n          next: {question: Why?, answers: [{label: x, resolution: y}]}',
            )
        ),
        [
            "acme.yaml:171:11: resolution.troubleshooting[0].answers[2]: the answer 'No' has both 'next' and 'resolution'; keep one"
        ],
    ),
    Case(
        "an answer label No without quotes, which YAML reads as false",
        edited(
            (
                '- {label: "No", resolution: Ask the customer to update the phone first.}',
                "- {label: No, resolution: Ask the customer to update the phone first.}",
            )
        ),
        [
            'acme.yaml:169:25: resolution.troubleshooting[0].answers[1].next.answers[0].label: YAML reads No as false; put it in quotes to mean the text: "No"'
        ],
    ),
    Case(
        "Norway's country code NO without quotes",
        edited(("country: US", "country: NO")),
        [
            'acme.yaml:74:16: calendars[0].holidays.country: YAML reads NO as false; put it in quotes to mean the text: "NO"'
        ],
    ),
    Case(
        "a misspelt priority in a target map",
        edited(("first_response: {urgent: 1h,", "first_response: {urgnt: 1h,")),
        [
            "acme.yaml:123:26: sla.policies[2].targets.first_response.urgnt: 'urgnt' is not a priority; did you mean 'urgent'?"
        ],
    ),
    Case(
        "a target written as a list",
        edited(("first_response: 30m", "first_response: [30m]")),
        [
            "acme.yaml:108:25: sla.policies[0].targets.first_response: a target is one duration (such as 8h) or a map from priority to duration, such as {urgent: 1h, normal: 8h}"
        ],
    ),
    Case(
        "version 3.10 without quotes, which YAML reads as 3.1",
        edited(('version: "3.2"', "version: 3.10")),
        ['acme.yaml:4:10: version: the version must be text in quotes: write version: "3.10"'],
    ),
    Case(
        "an escalation rule with no condition",
        edited(("when: {metric: first_response, before_breach: 15m}", "when: {metric: first_response}")),
        [
            "acme.yaml:129:11: escalation[0].when: say when the rule fires: add one of before_breach: 15m, breached: true or after_breach: 2h"
        ],
    ),
    Case(
        "an escalation rule with two conditions",
        edited(
            (
                "when: {metric: first_response, before_breach: 15m}",
                "when: {metric: first_response, before_breach: 15m, after_breach: 1h}",
            )
        ),
        [
            "acme.yaml:129:11: escalation[0].when: a rule fires on one condition, but this one has before_breach and after_breach; keep one, or make two rules"
        ],
    ),
    Case(
        "breached: false",
        edited(("when: {metric: any, breached: true}", "when: {metric: any, breached: false}")),
        [
            "acme.yaml:132:35: escalation[1].when.breached: breached can only be true; for a rule before or after the breach use before_breach or after_breach"
        ],
    ),
    Case(
        "two actions in one item",
        edited(("do: [{notify: assignee}]", "do: [{notify: assignee, add_tag: late}]")),
        [
            "acme.yaml:130:10: escalation[0].do[0]: one action per item: this one has 2 keys (notify, add_tag); write them as [{notify: ...}, {add_tag: ...}]"
        ],
    ),
    Case(
        "a misspelt action",
        edited(("do: [{notify: assignee}]", "do: [{notfy: assignee}]")),
        ["acme.yaml:130:11: escalation[0].do[0].notfy: 'notfy' is not an action; did you mean 'notify'?"],
    ),
    Case(
        "set_priority to a priority that does not exist",
        edited(("{set_priority: urgent}, {notify", "{set_priority: critical}, {notify")),
        [
            "acme.yaml:136:54: escalation[2].do[1].set_priority: 'critical' is not a priority; use low, normal, high or urgent"
        ],
    ),
    Case(
        "overlapping opening hours",
        edited(('mon-fri: "08:00-18:00"', 'mon-fri: "08:00-18:00,17:00-19:00"')),
        [
            "acme.yaml:71:16: calendars[0].hours.mon-fri: 08:00-18:00 and 17:00-19:00 overlap; write them as one range, 08:00-19:00"
        ],
    ),
    Case(
        "opening hours written as 9-17",
        edited(('mon-fri: "08:00-18:00"', 'mon-fri: "9-17"')),
        ["acme.yaml:71:16: calendars[0].hours.mon-fri: '9-17' is not an hour range; write 09:00-17:00"],
    ),
    Case(
        "opening hours that pass midnight",
        edited(('mon-fri: "08:00-18:00"', 'mon-fri: "22:00-02:00"')),
        [
            "acme.yaml:71:16: calendars[0].hours.mon-fri: '22:00-02:00' ends before it starts; a range cannot pass midnight, so end it at 24:00 and start the next day at 00:00"
        ],
    ),
    Case(
        "a day named in two entries of the hours",
        edited(('      sat: "10:00-14:00"', '      fri-sat: "10:00-14:00"')),
        [
            "acme.yaml:72:7: calendars[0].hours.fri-sat: Friday is named twice, in 'mon-fri' and 'fri-sat'; name each day once"
        ],
    ),
    Case(
        "a day range that runs backwards",
        edited(('      sat: "10:00-14:00"', '      sat-mon: "10:00-14:00"')),
        [
            "acme.yaml:72:7: calendars[0].hours.sat-mon: 'sat-mon': a day range runs forwards from Monday to Sunday, such as mon-fri; for a range across the weekend write sat-sun,mon"
        ],
    ),
    Case(
        "24/7 instead of 24x7",
        edited(("hours: 24x7", "hours: 24/7")),
        ["acme.yaml:78:12: calendars[1].hours: '24/7': write 24x7 for a calendar that is always open"],
    ),
    Case(
        "an open date whose hours are written 10-14",
        edited(("      closed: [2026-12-24]", "      closed: [2026-12-24]\n      open: {2026-12-26: 10-14}")),
        [
            "acme.yaml:77:26: calendars[0].holidays.open.2026-12-26: '10-14' is not an hour range; write 10:00-14:00"
        ],
    ),
    Case(
        "an open date of 30 February",
        edited(
            (
                "      closed: [2026-12-24]",
                '      closed: [2026-12-24]\n      open: {2026-02-30: "10:00-14:00"}',
            )
        ),
        [
            "acme.yaml:77:14: calendars[0].holidays.open.2026-02-30: '2026-02-30' is not a date: February 2026 has no day 30"
        ],
    ),
    Case(
        "recertify: yearly",
        edited(("recertify: 365d", "recertify: yearly")),
        [
            "acme.yaml:257:18: training.modules[1].recertify: 'yearly' is not allowed; write on_change, never, or a duration such as 365d"
        ],
    ),
    Case(
        "an empathy pattern that is not a regular expression",
        edited(('patterns: ["sorry"', 'patterns: ["sorry("')),
        [
            "acme.yaml:298:16: etiquette.empathy.patterns[0]: 'sorry(' is not a valid regular expression: missing ), unterminated subpattern at position 5"
        ],
    ),
    Case(
        "a backslash escape in a double-quoted pattern",
        edited(('patterns: ["sorry"', 'patterns: ["sorry\\d"')),
        [
            "acme.yaml:298:22: not valid YAML: a backslash in double quotes starts an escape such as \\n; write two backslashes (\"\\\\d\") or use single quotes ('\\d')"
        ],
    ),
    Case(
        "a channel kind the desk does not have",
        edited(("kind: chat", "kind: whatsapp")),
        [
            "acme.yaml:92:13: channels.customer[2].kind: 'whatsapp' is not allowed; use email, web, chat, phone, api or social"
        ],
    ),
    Case(
        "a misspelt key inside a section",
        edited(("  pause_when:", "  pause_whn:")),
        ["acme.yaml:102:3: sla.pause_whn: unknown key 'pause_whn'; did you mean 'pause_when'?"],
    ),
    Case(
        "a misspelt required key gives one message, not two",
        edited(("  purpose: |", "  purpse: |")),
        ["acme.yaml:8:3: introduction.purpse: unknown key 'purpse'; did you mean 'purpose'?"],
    ),
    Case(
        "a misspelt priority in a match",
        edited(("match: {priority: urgent, tags_any: [vip]}", "match: {priority: urgnt, tags_any: [vip]}")),
        [
            "acme.yaml:105:25: sla.policies[0].match.priority[0]: 'urgnt' is not allowed; use low, normal, high or urgent (did you mean 'urgent'?)"
        ],
    ),
    Case(
        "a refund approver written without role:",
        edited(("{up_to: 50, approve: auto}", "{up_to: 50, approve: lead}")),
        [
            "acme.yaml:205:28: refunds.approval[0].approve: 'lead' is not auto or role:ID; write auto or, for example, \"role:lead\""
        ],
    ),
    Case(
        "a refund rule with both bounds",
        edited(("{up_to: 50, approve: auto}", "{up_to: 50, above: 10, approve: auto}")),
        [
            "acme.yaml:205:7: refunds.approval[0]: a rule has one bound, up_to or above, not both; split it into two rules"
        ],
    ),
    Case(
        "a currency in lower case",
        edited(("currency: USD", "currency: usd")),
        [
            "acme.yaml:200:13: refunds.currency: 'usd' is not a currency code; write three capital letters, such as USD or EUR"
        ],
    ),
    Case(
        "an objective target p99",
        edited(("target: {p90: 1h}", "target: {p99: 1h}")),
        [
            "acme.yaml:19:13: objectives[0].target: unknown target 'p99'; use p50, p90 or p95 for times, min or max for ratios"
        ],
    ),
    Case(
        "a role id with a capital letter",
        edited(("    - id: agent", "    - id: Agent")),
        [
            "acme.yaml:33:11: team.roles[0].id: 'Agent' is not a valid id; use lower-case letters, digits, '-' and '_'"
        ],
    ),
    Case(
        "a required section left empty",
        edited(("team:\n  structure: |", "team:\nstaff:\n  structure: |")),
        [
            "acme.yaml:28:6: team: 'team' is empty; write its value after the colon, or its keys indented below it",
            "acme.yaml:29:1: staff: unknown key 'staff'",
        ],
    ),
    Case(
        "incident declarers written as one string",
        edited(('declare: ["role:lead", "role:manager"]', 'declare: "role:lead"')),
        [
            'acme.yaml:281:14: emergency.critical_incident.declare: must be a list, even of one item: write ["role:lead"]'
        ],
    ),
    Case(
        "a pass mark above 100",
        edited(("pass_mark: 100", "pass_mark: 120")),
        ["acme.yaml:251:20: training.modules[1].quiz.pass_mark: '120' must be at most 100"],
    ),
    Case(
        "a YAML tag such as !include",
        edited(("company: Acme Outdoor Gear", "company: !include company.txt")),
        [
            "acme.yaml:2:10: not valid YAML: the tag '!include' is not allowed; a protocol file uses plain YAML values"
        ],
    ),
    Case(
        "an unquoted colon inside a value",
        edited(("title: Customer Support Protocol", "title: Support: the protocol")),
        [
            "acme.yaml:3:15: not valid YAML: a ': ' inside a value; put the value in quotes if it contains a colon"
        ],
    ),
    Case(
        "an alias to an anchor that does not exist",
        edited(("title: Customer Support Protocol", "title: *name")),
        ["acme.yaml:3:8: not valid YAML: an alias (*name) that refers to no anchor (&name)"],
    ),
    Case(
        "a line indented less than its siblings",
        edited(("  policies:\n    - id: vip-urgent", "  policies:\n    x:\n      id: vip-urgent")),
        [
            "acme.yaml:113:5: not valid YAML: this line is not indented like the keys of the mapping that starts at line 104, column 5"
        ],
    ),
    Case(
        "a value left empty after its key",
        edited(("company: Acme Outdoor Gear", "company:")),
        [
            "acme.yaml:2:9: company: 'company' is empty; write its value after the colon, or its keys indented below it"
        ],
    ),
    Case(
        "a negative duration",
        edited(("first_response: 30m", "first_response: -1")),
        ["acme.yaml:108:25: sla.policies[0].targets.first_response: '-1' must be longer than zero"],
    ),
    Case(
        "format left empty",
        edited(("format: 1", "format:")),
        ["acme.yaml:1:8: format: format is empty; write format: 1 (this desk reads format 1 files)"],
    ),
    Case(
        "a file that is a list",
        "- format: 1\n  company: Acme\n",
        [
            "acme.yaml:1:1: the file is a list ('- ' items); a protocol file is a mapping of sections, starting with format: 1, then company: ..., title: ..."
        ],
    ),
    Case(
        "an empty file",
        "",
        [
            "acme.yaml:1:1: the file is empty; a protocol file starts with format: 1, then company, title, version, ..."
        ],
    ),
    Case(
        "a file that is a single word",
        "protocol\n",
        [
            "acme.yaml:1:1: the file is a single value; a protocol file is a mapping of sections, starting with format: 1"
        ],
    ),
]


def test_there_are_many_distinct_cases():
    """The table of broken protocols holds at least 30 cases, each with its own situation and text."""
    assert len(CASES) >= 30
    assert len({case.situation for case in CASES}) == len(CASES)
    assert len({case.text for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.situation for case in CASES])
def test_malformed_file_is_reported_at_the_place_in_plain_words(case: Case):
    """Each malformed file gives exactly the expected lines, and no protocol."""
    result = load(case.text)
    assert [str(problem) for problem in result.problems] == case.expected
    assert result.protocol is None
    assert not result.ok


def test_the_example_protocol_is_valid_without_warnings():
    """The spec's own example loads cleanly: no errors and no warnings."""
    result = load(example_text())
    assert result.ok
    assert result.problems == []
    assert result.protocol is not None
    assert result.protocol.company == "Acme Outdoor Gear"


def test_several_schema_errors_in_one_file_are_all_reported():
    """Three unrelated mistakes in three sections: all three are reported, in file order."""
    text = edited(
        ("format: 1", "format: 2"),
        ("first_response: 30m", "first_response: 30 minutes"),
        ("pass_mark: 100", "pass_mark: 120"),
    )
    assert lines(text) == [
        "acme.yaml:1:9: format: format must be 1: this desk reads format 1 files, and this one says '2'",
        "acme.yaml:108:25: sla.policies[0].targets.first_response: '30 minutes' is not a duration; write 30m",
        "acme.yaml:251:20: training.modules[1].quiz.pass_mark: '120' must be at most 100",
    ]


def test_cross_checks_still_run_when_only_an_optional_section_is_broken():
    """A schema error in surveys does not hide a broken group reference in escalation."""
    text = edited(
        ("    scale: 5\n", "    scale: 50\n"),
        ("assign_group: escalations", "assign_group: tier2"),
    )
    assert lines(text) == [
        "acme.yaml:136:25: escalation[2].do[0].assign_group: 'tier2' is not a group; "
        "the groups are frontline, escalations",
        "acme.yaml:270:12: surveys.csat.scale: '50' must be at most 10",
    ]


def test_a_misspelt_optional_section_does_not_count_as_missing():
    """'escalations:' is reported once, as unknown; training's covers: [escalation] is not blamed for it."""
    text = edited(("escalation:\n  - id: warn", "escalations:\n  - id: warn"))
    assert lines(text) == [
        "acme.yaml:127:1: escalations: unknown key 'escalations'; did you mean 'escalation'?"
    ]


def test_cross_checks_still_run_when_a_required_section_is_broken():
    """An unknown key in calendars is set aside, and the rest cross-checked: the dangling group shows too."""
    text = edited(
        ("timezone: America/New_York", "timezone: America/New_York\n    zone: x"),
        ("assign_group: escalations", "assign_group: tier2"),
    )
    assert lines(text) == [
        "acme.yaml:70:5: calendars[0].zone: unknown key 'zone'; did you mean 'timezone'?",
        "acme.yaml:137:25: escalation[2].do[0].assign_group: 'tier2' is not a group; "
        "the groups are frontline, escalations",
    ]


def test_an_unknown_key_and_a_bad_reference_are_reported_in_one_run():
    """An unknown key under the required sla section does not hide a reports_to that names no role."""
    text = edited(("pause_when:", "pause_while:"), ("reports_to: manager", "reports_to: managr"))
    assert lines(text) == [
        "acme.yaml:45:19: team.roles[1].reports_to: 'managr' is not a role; did you mean 'manager'?",
        "acme.yaml:102:3: sla.pause_while: unknown key 'pause_while'; did you mean 'pause_when'?",
    ]


def test_a_bad_value_and_a_bad_reference_are_reported_in_one_run():
    """A bad day in a calendar's hours is set aside; the reference elsewhere is still checked."""
    text = edited(("      mon-fri:", "      mon-fry:"), ("reports_to: manager", "reports_to: managr"))
    assert lines(text) == [
        "acme.yaml:45:19: team.roles[1].reports_to: 'managr' is not a role; did you mean 'manager'?",
        "acme.yaml:71:7: calendars[0].hours.mon-fry: 'mon-fry' is not a day or range of days; "
        "use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri",
    ]


def test_what_is_set_aside_brings_no_knock_on_findings():
    """A role whose id is refused is set aside: references to it are not reported as unknown."""
    assert lines(edited(("    - id: agent", "    - id: Agent"))) == [
        "acme.yaml:33:11: team.roles[0].id: 'Agent' is not a valid id; use lower-case letters, digits, '-' and '_'"
    ]
    # An unreadable country is set aside; the subdivision beside it is not then said to lack one.
    text = edited(("country: US", "country: NO"))
    assert [line.split(": ", 2)[1] for line in lines(text)] == ["calendars[0].holidays.country"]


def test_cross_checks_do_not_run_when_the_file_as_a_whole_is_wrong():
    """A required section missing altogether: nothing sound is left to cross-check."""
    text = edited(("sla:\n", "slas:\n"), ("reports_to: manager", "reports_to: managr"))
    assert all("managr" not in line for line in lines(text))


def test_problems_are_sorted_by_place_and_carry_a_severity():
    """A bad time zone (line 69) and a bad duration or quiz answer further down are both reported, in file
    order, each as an error."""
    text = edited(
        ("timezone: America/New_York", "timezone: Europe/Berln"),
        ("first_response: 30m", "first_response: 30"),
    )
    result = load(text)
    # The bad duration is set aside and the rest cross-checked: the bad time zone shows too, first.
    assert [(p.line, p.severity) for p in result.problems] == [(69, "error"), (108, "error")]
    text = edited(
        ("timezone: America/New_York", "timezone: Europe/Berln"),
        ("answer: 1\n      required_for: [agent]\n", "answer: 5\n      required_for: [agent]\n"),
    )
    result = load(text)
    assert [(p.line, p.column, p.severity) for p in result.problems] == [
        (69, 15, "error"),
        (255, 21, "error"),
    ]


def test_load_protocol_file_reports_a_missing_file(tmp_path):
    """Loading a file that does not exist reports 'FILE:1:1: no such file'."""
    from charterdesk.protocol.load import load_protocol_file

    missing = tmp_path / "nope.yaml"
    result = load_protocol_file(missing)
    assert [str(p) for p in result.problems] == [f"{missing}:1:1: no such file"]


def test_a_folder_given_as_the_protocol_file_is_named_not_a_traceback(tmp_path, capsys):
    """protocol validate on a folder exits 1 saying 'a folder, not a protocol file', with no traceback."""
    from charterdesk.cli import main

    assert main(["protocol", "validate", str(tmp_path)]) == 1
    assert f"{tmp_path}:1:1: a folder, not a protocol file" in capsys.readouterr().err


def test_render_to_a_folder_that_does_not_exist_says_so(tmp_path, capsys):
    """protocol render into a missing folder exits 1 saying it cannot write the handbook there and why."""
    from charterdesk.cli import main

    try:
        from ._cases import EXAMPLE
    except ImportError:
        from _cases import EXAMPLE
    target = tmp_path / "missing" / "handbook.md"
    assert main(["protocol", "render", str(EXAMPLE), "--format", "md", "-o", str(target)]) == 1
    assert f"{target}: cannot write the handbook there (No such file or directory)" in capsys.readouterr().err


def test_load_protocol_or_raise_raises_with_every_error():
    """A protocol with two errors (format 2, pass mark 120) raises ProtocolInvalid carrying both."""
    from charterdesk.protocol.load import ProtocolInvalid, load_protocol_or_raise

    text = edited(("format: 1", "format: 2"), ("pass_mark: 100", "pass_mark: 120"))
    with pytest.raises(ProtocolInvalid) as caught:
        load_protocol_or_raise(text, "acme.yaml")
    assert len(caught.value.problems) == 2


# --------------------------------------------------------------------------- aliases


ALIAS_BOMB = """\
format: 1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
"""


def test_an_alias_bomb_is_refused_at_the_alias():
    """Nine to the seventh values from eight lines: refused where the total passes 200,000 (the size is
    worked out before anything is built, so the bomb never expands)."""
    assert lines(ALIAS_BOMB) == [
        "acme.yaml:7:12: the file expands to more than 200,000 values (YAML aliases such as *e used "
        "over and over?); write the values out"
    ]


def test_a_deeper_alias_bomb_is_refused_too():
    """Ten to the fortieth values: refused, which can only happen if nothing was expanded."""
    rows = ["format: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 40)]
    [line] = lines("\n".join(rows) + "\n")
    assert line.startswith("acme.yaml:7:") and "more than 200,000 values" in line


def test_a_recursive_alias_is_refused_where_it_stands():
    """An alias used inside its own anchor is refused at its line and column, saying to write the values out."""
    assert lines("format: 1\nteam: &t\n  roles: [*t]\n") == [
        "acme.yaml:3:11: the alias *t is used inside its own anchor &t, so the value would never end; "
        "write the values out instead"
    ]


def test_aliases_are_expanded_and_placed_at_the_alias():
    """A sane alias still works; an error in what it stands for is reported where the alias is used."""
    text = edited(
        ("    - id: email\n      kind: email", "    - id: email\n      kind: &k email"),
        ("    - id: web\n      kind: web", "    - id: web\n      kind: *k"),
    )
    assert load(text).ok
    text = edited(
        ("    - id: email\n      kind: email", "    - id: email\n      kind: email\n      extra: &x [1]"),
        ("    - id: web\n      kind: web", "    - id: web\n      kind: *x"),
    )
    assert lines(text) == [
        "acme.yaml:84:7: channels.customer[0].extra: unknown key 'extra'",
        "acme.yaml:89:13: channels.customer[1].kind: a list is not allowed; use email, web, chat, phone, api or social",
    ]


def test_a_file_nested_too_deeply_is_refused_in_plain_words():
    """A file of 5000 nested lists is refused in plain words at 1:1, not with a recursion error."""
    assert lines("a: " + "[" * 5000 + "]" * 5000 + "\n") == [
        "acme.yaml:1:1: the file nests lists or mappings too deeply to read; a protocol needs only a few levels"
    ]
