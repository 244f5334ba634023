# ruff: noqa: E501 - expected messages are whole lines, kept whole so that they read as printed
"""Cross-checks: references resolve, ids are unique, orderings make sense - with hints that fix them.

Most cases are the example protocol with one small edit, checked through ``load_protocol`` so that
the place in the file is checked too. The pure helpers (match shadowing) are tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from charterdesk.protocol.checks import _covers, cross_check
from charterdesk.protocol.models import Match

try:
    from ._cases import edited, example_text, load
except ImportError:  # tests/protocol is not a package: pytest put its folder on sys.path
    from _cases import edited, example_text, load


@dataclass(frozen=True)
class Case:
    situation: str
    text: str
    expected: list[str]


CASES = [
    Case(
        "reports_to names a role that does not exist",
        edited(("reports_to: lead", "reports_to: leed")),
        ["acme.yaml:36:19: team.roles[0].reports_to: 'leed' is not a role; did you mean 'lead'?"],
    ),
    Case(
        "reports_to loops through three roles",
        edited(("      title: Support Manager\n", "      title: Support Manager\n      reports_to: agent\n")),
        [
            "acme.yaml:36:19: team.roles[0].reports_to: reports_to makes a loop: agent -> lead -> manager -> agent; the chain must end at a role that reports to no one"
        ],
    ),
    Case(
        "a role reports to itself",
        edited(("reports_to: manager", "reports_to: lead")),
        [
            "acme.yaml:45:19: team.roles[1].reports_to: reports_to makes a loop: lead -> lead; the chain must end at a role that reports to no one"
        ],
    ),
    Case(
        "a group names an unknown role",
        edited(("roles: [agent]", "roles: [agnet]")),
        ["acme.yaml:61:15: team.groups[0].roles[0]: 'agnet' is not a role; did you mean 'agent'?"],
    ),
    Case(
        "a group names a channel that is not a customer channel",
        edited(("channels: [email, web, chat, phone]", "channels: [email, web, chat, fax]")),
        [
            "acme.yaml:62:36: team.groups[0].channels[3]: 'fax' is not a customer channel; the customer channels are email, web, chat, phone"
        ],
    ),
    Case(
        "a misspelt permission",
        edited(("ticket.view, ticket.reply", "ticket.veiw, ticket.reply")),
        [
            "acme.yaml:41:21: team.roles[0].permissions[0]: 'ticket.veiw' is not a desk permission and matches none; did you mean 'ticket.view'?"
        ],
    ),
    Case(
        "a wildcard permission that matches nothing",
        edited(("kb.read, customer.view]", "kb.read, customer.view, tickets.*]")),
        [
            "acme.yaml:41:115: team.roles[0].permissions[7]: 'tickets.*' is not a desk permission and matches none; did you mean 'ticket.*'?"
        ],
    ),
    Case(
        "a permission of an unknown family",
        edited(("kb.read, customer.view]", "kb.read, customer.view, billing.view]")),
        [
            "acme.yaml:41:115: team.roles[0].permissions[7]: 'billing.view' is not a desk permission and matches none; permissions start with audit.*, channels.*, customer.*, etiquette.*, incident.*, kb.*, people.*, protocol.*, refund.*, reports.*, ticket.*, training.*"
        ],
    ),
    Case(
        "a misspelt time zone",
        edited(("timezone: America/New_York", "timezone: Europe/Berln")),
        [
            "acme.yaml:69:15: calendars[0].timezone: 'Europe/Berln' is not a time zone; did you mean 'Europe/Berlin'?"
        ],
    ),
    Case(
        "a time zone written as a city",
        edited(("timezone: America/New_York", "timezone: New York")),
        [
            "acme.yaml:69:15: calendars[0].timezone: 'New York' is not a time zone; did you mean 'America/New_York'?"
        ],
    ),
    Case(
        "a business-hours calendar without a time zone",
        edited(("    timezone: America/New_York\n", "")),
        [
            "acme.yaml:68:5: calendars[0]: calendar 'office' has business hours, so it needs a timezone in which to read them, such as timezone: America/New_York"
        ],
    ),
    Case(
        "a country the holidays package does not know",
        edited(("country: US", "country: XX")),
        [
            "acme.yaml:74:16: calendars[0].holidays.country: 'XX' is not a country the holidays package knows; write a country code such as US, GB or DE"
        ],
    ),
    Case(
        "a country written in lower case",
        edited(
            ("country: US", "country: us\n      subdivision: NY"),
            ("      subdivision: NY\n      closed", "      closed"),
        ),
        [
            "acme.yaml:74:16: calendars[0].holidays.country: 'us' is not a country the holidays package knows; did you mean 'US'?"
        ],
    ),
    Case(
        "a subdivision that is not in the country",
        edited(("subdivision: NY", "subdivision: NYC")),
        [
            "acme.yaml:75:20: calendars[0].holidays.subdivision: 'NYC' is not a subdivision of US; did you mean 'NY'?"
        ],
    ),
    Case(
        "a subdivision without a country",
        edited(("      country: US\n", "")),
        [
            "acme.yaml:74:20: calendars[0].holidays.subdivision: a subdivision needs the country it belongs to; add country: (such as US for NY)"
        ],
    ),
    Case(
        "a 24x7 calendar with holidays and an open date",
        edited(
            (
                "  - id: always\n    hours: 24x7\n",
                '  - id: always\n    timezone: UTC\n    hours: 24x7\n    holidays: {country: US, open: {2026-12-26: "10:00-14:00"}}\n',
            )
        ),
        [
            "acme.yaml:80:15: warning: calendars[1].holidays: hours: 24x7 with holidays: the desk closes this calendar all day on each holiday, so it is not open around the clock; remove the holidays if the team works every day",
            "acme.yaml:80:48: warning: calendars[1].holidays.open.2026-12-26: this calendar is open around the clock, but on 2026-12-26 only 10:00-14:00: an open date has exactly its own hours; remove it if the team works all day then",
        ],
    ),
    Case(
        "a 24x7 calendar with closed dates but no time zone",
        edited(
            (
                "  - id: always\n    hours: 24x7\n",
                "  - id: always\n    hours: 24x7\n    holidays: {closed: [2026-12-25]}\n",
            )
        ),
        [
            "acme.yaml:77:5: calendars[1]: calendar 'always' has holidays or dates, so it needs a timezone to know when those days begin and end, such as timezone: America/New_York",
            "acme.yaml:79:15: warning: calendars[1].holidays: hours: 24x7 with holidays: the desk closes this calendar all day on each holiday, so it is not open around the clock; remove the holidays if the team works every day",
        ],
    ),
    Case(
        "a calendar that is never open",
        edited(('    hours:\n      mon-fri: "08:00-18:00"\n      sat: "10:00-14:00"\n', "    hours: {}\n")),
        [
            "acme.yaml:70:12: calendars[0].hours: calendar 'office' is never open: it has no weekly hours and no open dates, so no time would ever count; add hours such as {mon-fri: \"09:00-17:00\"}, or write 24x7"
        ],
    ),
    Case(
        "a channel names an unknown calendar",
        edited(
            (
                "      calendar: office\n      acknowledge: true\n    - id: web",
                "      calendar: offce\n      acknowledge: true\n    - id: web",
            )
        ),
        ["acme.yaml:85:17: channels.customer[0].calendar: 'offce' is not a calendar; did you mean 'office'?"],
    ),
    Case(
        "two channels with the same id",
        edited(
            ("    - id: phone\n", "    - id: chat\n"),
            ("channels: [email, web, chat, phone]", "channels: [email, web, chat]"),
        ),
        [
            "acme.yaml:94:11: channels.customer[3].id: 'chat' is already the id of channel number 3; give each channel its own id"
        ],
    ),
    Case(
        "an email channel's address is not an email address",
        edited(("address: support@acme.example", "address: support at acme")),
        [
            "acme.yaml:84:16: channels.customer[0].address: 'support at acme' is not an email address, such as support@acme.example"
        ],
    ),
    Case(
        "an email channel's address has a +tag, which inbound routing would strip",
        edited(("address: support@acme.example", "address: support+eu@acme.example")),
        [
            "acme.yaml:84:16: channels.customer[0].address: 'support+eu@acme.example' must not contain '+': the desk adds a +tag of its own for each ticket's reply address; write support@acme.example"
        ],
    ),
    Case(
        "two email channels share one address (in another case)",
        edited(
            (
                "    - id: web\n      kind: web",
                "    - id: returns\n      kind: email\n      address: Support@Acme.example\n    - id: web\n      kind: web",
            )
        ),
        [
            "acme.yaml:89:16: channels.customer[1].address: 'Support@Acme.example' is already the address of channel 'email'; give each email channel its own address"
        ],
    ),
    Case(
        "two groups with the same id",
        edited(
            ("    - id: escalations\n", "    - id: frontline\n"),
            ("assign_group: escalations", "assign_group: frontline"),
        ),
        [
            "acme.yaml:63:11: team.groups[1].id: 'frontline' is already the id of group number 1; give each group its own id"
        ],
    ),
    Case(
        "a policy names an unknown calendar",
        edited(("      calendar: always\n", "      calendar: 24x7\n")),
        [
            "acme.yaml:106:17: sla.policies[0].calendar: '24x7' is not a calendar; the calendars are office, always"
        ],
    ),
    Case(
        "a policy that an earlier one shadows",
        edited(("match: {channel: chat}", "match: {channel: chat, tags_any: [vip], priority: urgent}")),
        [
            "acme.yaml:112:11: warning: sla.policies[1].id: policy 'chat' is never used: every ticket it fits is already fitted by policy 'vip-urgent', which comes first; move 'chat' above 'vip-urgent'"
        ],
    ),
    Case(
        "policies after a catch-all",
        edited(
            (
                "    - id: vip-urgent\n      match: {priority: urgent, tags_any: [vip]}",
                "    - id: vip-urgent\n      match: {}",
            )
        ),
        [
            "acme.yaml:112:11: warning: sla.policies[1].id: policy 'chat' is never used: policy 'vip-urgent' comes before it with match: {}, which fits every ticket; move 'chat' above 'vip-urgent'",
            "acme.yaml:119:11: warning: sla.policies[2].id: policy 'standard' is never used: policy 'vip-urgent' comes before it with match: {}, which fits every ticket; move 'standard' above 'vip-urgent'",
        ],
    ),
    Case(
        "no catch-all policy",
        edited(("      match: {}\n", "      match: {tags_none: [spam]}\n")),
        [
            "acme.yaml:104:5: warning: sla.policies: no policy has match: {}, so a ticket that fits none of them gets no response-time targets; end the list with a policy for every other ticket"
        ],
    ),
    Case(
        "a policy with no targets",
        edited(
            (
                "        first_response: 2m\n        next_response: 5m\n        resolution: 1h\n",
                "        {}\n",
            )
        ),
        [
            "acme.yaml:116:9: warning: sla.policies[1].targets: policy 'chat' has no targets, so the tickets it fits get no response-time promise; add first_response or resolution"
        ],
    ),
    Case(
        "a target in days under business hours",
        edited(
            (
                "resolution: {urgent: 8h, high: 16h, normal: 40h, low: 80h}",
                "resolution: {urgent: 8h, high: 16h, normal: 5d, low: 80h}",
            )
        ),
        [
            "acme.yaml:125:53: warning: sla.policies[2].targets.resolution.normal: '5d' under the business-hours calendar 'office' counts 120 business hours, not working days; write the business hours you mean, such as 20h"
        ],
    ),
    Case(
        "a policy match names an unknown channel and group",
        edited(("match: {channel: chat}", "match: {channel: [chat, fax], group: tier2}")),
        [
            "acme.yaml:113:31: sla.policies[1].match.channel[1]: 'fax' is not a customer channel; the customer channels are email, web, chat, phone",
            "acme.yaml:113:44: sla.policies[1].match.group[0]: 'tier2' is not a group; the groups are frontline, escalations",
        ],
    ),
    Case(
        "an escalation rule on a metric that no policy targets",
        edited(
            ("        periodic_update: 2h\n", ""),
            (
                "when: {metric: first_response, before_breach: 15m}",
                "when: {metric: periodic_update, before_breach: 15m}",
            ),
        ),
        [
            "acme.yaml:128:20: warning: escalation[0].when.metric: no SLA policy has a periodic_update target, so this rule never fires; add a periodic_update target to a policy or remove the rule"
        ],
    ),
    Case(
        "notify a bare role name",
        edited(("do: [{notify: assignee}]", "do: [{notify: lead}]")),
        [
            "acme.yaml:130:19: escalation[0].do[0].notify: 'lead' is not someone the desk can notify; did you mean \"role:lead\"?"
        ],
    ),
    Case(
        "notify an unknown group and a broken address",
        edited(("do: [{notify: assignee}]", 'do: [{notify: "group:tier9"}, {notify: boss@acme}]')),
        [
            "acme.yaml:130:19: escalation[0].do[0].notify: 'tier9' is not a group; the groups are frontline, escalations",
            "acme.yaml:130:44: escalation[0].do[1].notify: 'boss@acme' is not someone the desk can notify; write assignee, role:ID, group:ID or an email address",
        ],
    ),
    Case(
        "assign_group to an unknown group",
        edited(("assign_group: escalations", "assign_group: tier2")),
        [
            "acme.yaml:136:25: escalation[2].do[0].assign_group: 'tier2' is not a group; the groups are frontline, escalations"
        ],
    ),
    Case(
        "a contingency notifies an unknown role",
        edited(
            (
                'do: [{notify: "role:manager"}, {set_priority: urgent}]',
                'do: [{notify: "role:boss"}, {set_priority: urgent}]',
            )
        ),
        [
            "acme.yaml:197:19: contingencies[1].do[0].notify: 'boss' is not a role; the roles are agent, lead, manager"
        ],
    ),
    Case(
        "a refund approver role that does not exist",
        edited(('{up_to: 500, approve: "role:lead"}', '{up_to: 500, approve: "role:teamlead"}')),
        ["acme.yaml:206:29: refunds.approval[1].approve: 'teamlead' is not a role; did you mean 'lead'?"],
    ),
    Case(
        "a refund approver without refund.approve",
        edited(('{up_to: 500, approve: "role:lead"}', '{up_to: 500, approve: "role:agent"}')),
        [
            "acme.yaml:206:29: warning: refunds.approval[1].approve: role 'agent' is named to approve refunds, but its permissions do not include refund.approve; add refund.approve to the role, since roles alone decide what a person may do"
        ],
    ),
    Case(
        "refund rules out of order",
        edited(
            (
                '    - {up_to: 50, approve: auto}\n    - {up_to: 500, approve: "role:lead"}',
                '    - {up_to: 500, approve: "role:lead"}\n    - {up_to: 50, approve: auto}',
            )
        ),
        [
            "acme.yaml:206:7: warning: refunds.approval[1]: this rule is never used: every refund of 50 USD or less is already decided by a rule above it; list up_to rules from the smallest bound up"
        ],
    ),
    Case(
        "a refund rule after the above rule",
        edited(
            (
                '    - {above: 500, approve: "role:manager"}',
                '    - {above: 500, approve: "role:manager"}\n    - {above: 1000, approve: "role:manager"}',
            )
        ),
        [
            "acme.yaml:208:7: warning: refunds.approval[3]: this rule is never used: every refund above 1000 USD is already decided by a rule above it; the above rule belongs last"
        ],
    ),
    Case(
        "a gap between the refund rules",
        edited(
            ('    - {above: 500, approve: "role:manager"}', '    - {above: 1000, approve: "role:manager"}')
        ),
        [
            "acme.yaml:205:5: warning: refunds.approval: refunds above 500 USD and up to 1000 USD fit no approval rule; add {up_to: 1000, approve: ...} or lower the above bound to 500"
        ],
    ),
    Case(
        "no rule for large refunds",
        edited(('    - {above: 500, approve: "role:manager"}\n', "")),
        [
            'acme.yaml:205:5: warning: refunds.approval: refunds above 500 USD fit no approval rule; end the list with an above rule, such as {above: 500, approve: "role:manager"}'
        ],
    ),
    Case(
        "privacy access names an unknown role",
        edited(("exports: [manager]", "exports: [managers]")),
        ["acme.yaml:221:15: privacy.access.exports[0]: 'managers' is not a role; did you mean 'manager'?"],
    ),
    Case(
        "training required for an unknown role",
        edited(("required_for: [agent, lead]", "required_for: [agent, lead, trainee]")),
        [
            "acme.yaml:243:35: training.modules[0].required_for[2]: 'trainee' is not a role; the roles are agent, lead, manager"
        ],
    ),
    Case(
        "a module covers a misspelt section",
        edited(("covers: [sla, escalation]", "covers: [sla, escalations]")),
        [
            "acme.yaml:227:21: training.modules[0].covers[1]: 'escalations' is not a section of the protocol; did you mean 'escalation'?"
        ],
    ),
    Case(
        "a module covers a section the file does not have",
        edited(
            ("covers: [etiquette]", "covers: [etiquette, surveys]"),
            (
                "surveys:\n  csat:\n    send_after: 1h\n    question: How satisfied are you with the help you received?\n    scale: 5\n  nps:\n    every: 90d\n\n",
                "",
            ),
        ),
        [
            "acme.yaml:247:27: training.modules[1].covers[1]: this module covers 'surveys', but this protocol has no surveys section; remove it from covers or add the section"
        ],
    ),
    Case(
        "a quiz answer out of range",
        edited(
            (
                "            answer: 1\n      required_for: [agent]",
                "            answer: 3\n      required_for: [agent]",
            )
        ),
        [
            "acme.yaml:255:21: training.modules[1].quiz.questions[0].answer: answer 3 is out of range: there are 3 choices, numbered from 0, so the answer is 0 to 2"
        ],
    ),
    Case(
        "knowledge-base owners name an unknown role",
        edited(('owners: "role:lead"', 'owners: "role:leads"')),
        ["acme.yaml:264:11: knowledge_base.owners: 'leads' is not a role; did you mean 'lead'?"],
    ),
    Case(
        "knowledge-base owners without role:",
        edited(('owners: "role:lead"', "owners: lead")),
        ["acme.yaml:264:11: knowledge_base.owners: 'lead' must name a role as role:ID; write \"role:lead\""],
    ),
    Case(
        "an objective with an unknown KPI",
        edited(("kpi: csat", "kpi: satisfaction")),
        [
            "acme.yaml:25:10: objectives[2].kpi: 'satisfaction' is not a KPI; use one of first_response_time, next_response_time, resolution_time, sla_compliance, csat, nps, ces, fcr, backlog, reopen_rate, handle_time"
        ],
    ),
    Case(
        "an objective on a KPI that reporting does not list",
        edited(("    kpi: csat\n    target: {min: 0.90}", "    kpi: ces\n    target: {max: 2}")),
        [
            "acme.yaml:25:10: warning: objectives[2].kpi: 'ces' is not among reporting.kpis, so no report shows how this objective is doing; add it to reporting.kpis"
        ],
    ),
    Case(
        "a ratio objective written as a percentage",
        edited(("target: {min: 0.95}", "target: {min: 95}")),
        [
            "acme.yaml:23:19: objectives[1].target.min: sla_compliance is a ratio between 0 and 1, so 95 cannot be reached; write 0.9 for 90%"
        ],
    ),
    Case(
        "a time KPI given a ratio target",
        edited(("target: {p90: 1h}", "target: {min: 0.5}")),
        [
            "acme.yaml:19:19: objectives[0].target.min: first_response_time is a time: give a percentile target such as {p90: 1h}"
        ],
    ),
    Case(
        "a ratio KPI given a percentile target",
        edited(("target: {min: 0.95}", "target: {p90: 1h}")),
        [
            "acme.yaml:23:19: objectives[1].target.p90: sla_compliance is not a time: give a bound such as {min: 0.9} or {max: 0.1}"
        ],
    ),
    Case(
        "reporting lists a misspelt KPI",
        edited(("reopen_rate, nps]", "reopen_rate, nsp]")),
        ["acme.yaml:275:97: reporting.kpis[7]: 'nsp' is not a KPI; did you mean 'nps'?"],
    ),
    Case(
        "a report sent to the assignee",
        edited(
            (
                'to: ["role:manager"]',
                'to: ["role:manager", "assignee", "ops@acme.example", "group:frontline"]',
            )
        ),
        [
            "acme.yaml:277:83: reporting.schedule[0].to[1]: 'assignee' is not someone the desk can notify; write role:ID, group:ID or an email address"
        ],
    ),
    Case(
        "a report schedule with an unknown calendar",
        edited(("calendar: office, to:", "calendar: ofice, to:")),
        [
            "acme.yaml:277:54: reporting.schedule[0].calendar: 'ofice' is not a calendar; did you mean 'office'?"
        ],
    ),
    Case(
        "incident declarers with a bare role and one without the permission",
        edited(('declare: ["role:lead", "role:manager"]', 'declare: ["role:lead", "role:agent", manager]')),
        [
            "acme.yaml:281:28: warning: emergency.critical_incident.declare[1]: role 'agent' is named to declare incidents, but its permissions do not include incident.declare; add incident.declare to the role, since roles alone decide what a person may do",
            "acme.yaml:281:42: emergency.critical_incident.declare[2]: 'manager' must name a role as role:ID; write \"role:manager\"",
        ],
    ),
    Case(
        "an incident SLA policy that does not exist",
        edited(("    update_every: 1h\n", "    update_every: 1h\n    sla_policy: incident\n")),
        [
            "acme.yaml:285:17: emergency.critical_incident.sla_policy: 'incident' is not an SLA policy; the policies are vip-urgent, chat, standard"
        ],
    ),
    Case(
        "two objectives with the same id",
        edited(("  - id: happy-customers", "  - id: keep-promises")),
        [
            "acme.yaml:24:9: objectives[2].id: 'keep-promises' is already the id of objective number 2; give each objective its own id"
        ],
    ),
    Case(
        "two escalation rules with the same id",
        edited(("  - id: lead-on-breach", "  - id: warn-assignee")),
        [
            "acme.yaml:131:9: escalation[1].id: 'warn-assignee' is already the id of escalation rule number 1; give each escalation rule its own id"
        ],
    ),
    Case(
        "a role renamed to an id another role has: its references are folded into the one error",
        edited(("    - id: lead\n", "    - id: manager\n")),
        [
            "acme.yaml:51:11: team.roles[2].id: 'manager' is already the id of role number 2; give each role "
            "its own id; no role has the id 'lead', which the file names 9 times: is this role meant to be 'lead'?"
        ],
    ),
    Case(
        "a doubled role id and a misspelt reference: both named, at the duplicate",
        edited(("    - id: lead\n", "    - id: manager\n"), ("reports_to: lead", "reports_to: managr")),
        [
            "acme.yaml:51:11: team.roles[2].id: 'manager' is already the id of role number 2; give each role "
            "its own id; no role has the ids 'managr', 'lead' (8 times), which the file names: "
            "is this role meant to be one of them?"
        ],
    ),
    Case(
        "two calendars with the same id",
        edited(("  - id: always\n", "  - id: office\n")),
        [
            "acme.yaml:77:9: calendars[1].id: 'office' is already the id of calendar number 1; give each "
            "calendar its own id; no calendar has the id 'always', which the file names once: "
            "is this calendar meant to be 'always'?"
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.situation for case in CASES])
def test_cross_check_reports_the_problem_at_its_place(case: Case):
    """Each broken cross-reference is reported at its own FILE:LINE:COL with the expected message; warnings
    alone still give a usable protocol, any error gives none."""
    result = load(case.text)
    assert [str(problem) for problem in result.problems] == case.expected
    # Warnings alone leave a usable protocol; any error leaves none.
    assert (result.protocol is None) == bool(result.errors)


def test_the_example_has_no_cross_check_findings():
    """The example protocol (Acme Outdoor Gear) passes the cross-checks with no finding at all."""
    result = load(example_text())
    assert result.protocol is not None
    assert cross_check(result.protocol) == []


def test_cross_check_returns_path_tuples_message_and_severity():
    """A group naming role 'agnet' is reported at team.groups[0].roles[0] as an error that suggests 'agent'."""
    result = load(edited(("roles: [agent]", "roles: [agnet]")))
    assert result.source is not None
    from charterdesk.protocol.models import Protocol

    protocol = Protocol.model_validate(result.source.data)
    assert cross_check(protocol) == [
        (("team", "groups", 0, "roles", 0), "'agnet' is not a role; did you mean 'agent'?", "error")
    ]


def test_skipped_sections_are_not_reported_as_missing():
    """A training module covering a removed surveys section is an error, unless surveys is a section the
    reader chose to skip."""
    result = load(example_text())
    assert result.protocol is not None
    protocol = result.protocol.model_copy(update={"surveys": None})
    module = result.protocol.training.modules[1].model_copy(update={"covers": ["surveys"]})
    training = result.protocol.training.model_copy(update={"modules": [module]})
    protocol = protocol.model_copy(update={"training": training})
    assert [f[2] for f in cross_check(protocol)] == ["error"]
    assert cross_check(protocol, skipped=frozenset({"surveys"})) == []


@pytest.mark.parametrize(
    ("first", "later", "shadowed"),
    [
        ({}, {"priority": "urgent"}, True),
        ({"priority": ["high", "urgent"]}, {"priority": "urgent", "channel": "chat"}, True),
        ({"priority": "urgent"}, {"priority": ["high", "urgent"]}, False),
        ({"priority": "urgent"}, {}, False),
        ({"tags_any": ["vip", "gold"]}, {"tags_all": ["vip", "eu"]}, True),
        ({"tags_any": ["vip", "gold"]}, {"tags_any": ["vip"]}, True),
        ({"tags_any": ["vip"]}, {"tags_any": ["vip", "gold"]}, False),
        ({"tags_all": ["vip", "eu"]}, {"tags_all": ["vip"]}, False),
        ({"tags_none": ["spam"]}, {"tags_none": ["spam", "test"]}, True),
        ({"tags_none": ["spam"]}, {"channel": "chat"}, False),
        ({"group": "tier2"}, {"group": "tier2", "tags_any": ["x"]}, True),
    ],
)
def test_a_policy_is_shadowed_only_when_an_earlier_match_fits_all_its_tickets(first, later, shadowed):
    """A later SLA policy is reported as shadowed only when every ticket it matches is already matched by an
    earlier one (an empty match covers all; urgent does not cover high-or-urgent)."""
    assert _covers(Match.model_validate(first), Match.model_validate(later)) is shadowed


def test_subdivisions_read_from_source_agree_with_the_holidays_package():
    """The quick way of knowing a country's subdivisions gives what holidays.country_holidays gives."""
    import holidays
    from holidays.registry import COUNTRIES

    from charterdesk.protocol.checks import _holiday_countries, _holiday_facts

    assert _holiday_countries() == COUNTRIES

    for entry in COUNTRIES.values():
        facts = _holiday_facts(entry[1])
        known = holidays.country_holidays(entry[1])
        assert facts is not None
        assert sorted(facts[0]) == sorted(known.subdivisions), entry[0]
        assert sorted(facts[1]) == sorted(getattr(known, "subdivisions_aliases", {})), entry[0]
    assert _holiday_facts("XX") is None


def test_a_duplicate_id_is_reported_before_nothing_it_causes():
    """The duplicate is the only error, so it is the first printed; no 'is not a role' follows it."""
    result = load(edited(("    - id: lead\n", "    - id: manager\n")))
    [problem] = result.errors
    assert "already the id of role number 2" in problem.message
    assert not any("is not a role" in p.message for p in result.problems)


def test_references_to_items_set_aside_are_not_reported():
    """With the agent role gone, references to 'agent' are errors, but not when the role is listed as lost
    (its own definition failed, and that failure is the one to report)."""
    result = load(example_text())
    assert result.protocol is not None
    roles = result.protocol.team.model_copy(update={"roles": result.protocol.team.roles[1:]})
    protocol = result.protocol.model_copy(update={"team": roles})
    assert any("'agent' is not a role" in f[1] for f in cross_check(protocol))
    quiet = cross_check(protocol, lost={"role": {"agent"}})
    assert not any("'agent'" in f[1] for f in quiet)
