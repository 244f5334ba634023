"""Cross-checks: what the schema alone cannot see, once every section has parsed.

``cross_check(protocol)`` returns ``(path, message, severity)`` findings; ``load.py``
places each at the line and column of ``path`` in the file. The checks are:

- references resolve: roles (``reports_to``, groups, training, refunds, privacy, knowledge
  base, incident declarers, notify targets), groups, customer channels, calendars, SLA
  policies, KPI names and the sections a training module covers;
- ids are unique within each list, and ``reports_to`` does not loop; when an id is given
  twice, an item has usually lost its own id to a copy or a rename, so references that
  name no item of that list are folded into the duplicate's error rather than reported
  one by one before it;
- every role permission names at least one desk permission;
- calendars: a real IANA time zone, known public holidays, and at least some open time;
- quizzes: every ``answer`` points at one of its ``choices``;
- ordering: an SLA policy or refund approval rule that earlier ones shadow is never used.

Errors are what the desk cannot run as written (a name that points nowhere, a loop, a zone
that does not exist). Warnings are files the desk runs exactly as written but that almost
certainly say something the author did not mean - an unreachable policy or refund rule, an
escalation rule for a metric that nothing targets, ``2d`` under business hours. ``validate``
exits 1 only on errors, so a warning never blocks publishing; it is shown on every check.

Nothing heavy is imported: a calendar's country and subdivision are looked up in the source
of the ``holidays`` package (its registry and the country's module) rather than by importing
it, since ``holidays.country_holidays`` imports all 250 country modules (some 150 ms) on its
first call; ``zoneinfo.available_timezones`` (a directory walk) runs only for a hint.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any, Literal

from . import permissions
from .models import (
    KPI_NAMES,
    METRICS,
    SECTION_KEYS,
    Action,
    Calendar,
    Channel,
    Match,
    Protocol,
    WeeklyHours,
    did_you_mean,
)

Severity = Literal["error", "warning"]
Path = tuple[str | int, ...]
Finding = tuple[Path, str, Severity]

_EMAIL = re.compile(r"[^@\s:]+@[^@\s]+\.[^@\s]+")
TIME_KPIS = frozenset({"first_response_time", "next_response_time", "resolution_time", "handle_time"})
RATIO_KPIS = frozenset({"sla_compliance", "csat", "fcr", "reopen_rate"})


# The lists whose items references name, by what ``ref`` calls one of their items.
REFERENCED = {
    "role": ("team", "roles"),
    "group": ("team", "groups"),
    "calendar": ("calendars",),
    "customer channel": ("channels", "customer"),
    "SLA policy": ("sla", "policies"),
}


def cross_check(
    protocol: Protocol,
    *,
    skipped: frozenset[str] = frozenset(),
    lost: Mapping[str, Collection[str] | None] | None = None,
    aside: Collection[Path] = (),
) -> list[Finding]:
    """Every cross-reference problem of ``protocol``, errors and warnings, in file order of sections.

    ``skipped`` names top-level sections that failed the schema and were left out of
    ``protocol``: checks about whether such a section exists stay quiet about them.
    ``lost`` gives, by kind of item (the keys of ``REFERENCED``), the ids of items that failed
    the schema, in whole or in part, and were left out or left with defaults (None: the whole
    list, or an item whose id was refused): the file has them, broken, so a reference to one is
    not reported as pointing nowhere, and what they hold is not held against others. ``aside``
    has the paths of the values left out; a check that judges one part of the file by another
    (objectives by ``reporting.kpis``) stays quiet when that other part is among them.
    """
    checker = _Checker(protocol, skipped, lost or {}, aside)
    checker.run()
    return checker.findings


class _Checker:
    def __init__(
        self,
        protocol: Protocol,
        skipped: frozenset[str],
        lost: Mapping[str, Collection[str] | None],
        aside: Collection[Path],
    ):
        self.p = protocol
        self.skipped = skipped
        self.lost = lost
        self.aside = aside
        self.findings: list[Finding] = []
        self.roles = [role.id for role in protocol.team.roles]
        self.groups = [group.id for group in protocol.team.groups]
        self.calendars = {calendar.id: calendar for calendar in protocol.calendars}
        self.channels = [channel.id for channel in protocol.channels.customer]
        self.policies = [policy.id for policy in protocol.sla.policies]
        ids = {
            "role": self.roles,
            "group": self.groups,
            "calendar": [calendar.id for calendar in protocol.calendars],
            "customer channel": self.channels,
            "SLA policy": self.policies,
        }
        # Ids given twice, by kind; and the names that references use but no item of that kind has.
        self.doubled = {what: {i for i, n in Counter(names).items() if n > 1} for what, names in ids.items()}
        self.unmatched: dict[str, Counter[str]] = {what: Counter() for what in ids}
        # Where the first duplicate-id error of each list is, among the findings.
        self.duplicate_at: dict[Path, int] = {}

    def error(self, path: Path, message: str) -> None:
        self.findings.append((path, message, "error"))

    def warning(self, path: Path, message: str) -> None:
        self.findings.append((path, message, "warning"))

    def run(self) -> None:
        self.check_objectives()
        self.check_team()
        self.check_calendars()
        self.check_channels()
        self.check_sla()
        self.check_escalation()
        self.check_resolution()
        self.check_contingencies()
        self.check_refunds()
        self.check_privacy()
        self.check_training()
        self.check_knowledge_base()
        self.check_reporting()
        self.check_emergency()
        self.fold_unmatched()

    def fold_unmatched(self) -> None:
        """Name, in the error about a duplicate id, the references that no item of its list answers."""
        for what, names in self.unmatched.items():
            at = self.duplicate_at.get(REFERENCED[what])
            if not names or at is None:
                continue
            path, message, severity = self.findings[at]
            if len(names) == 1:
                name, count = next(iter(names.items()))
                times = f" {count} times" if count > 1 else " once"
                extra = (
                    f"; no {what} has the id '{name}', which the file names{times}: "
                    f"is this {what} meant to be '{name}'?"
                )
            else:
                counted = [f"'{name}'" + (f" ({n} times)" if n > 1 else "") for name, n in names.items()]
                extra = (
                    f"; no {what} has the ids {_listing(counted)}, which the file names: "
                    f"is this {what} meant to be one of them?"
                )
            self.findings[at] = (path, message + extra, severity)

    # ----------------------------------------------------------------------------------- helpers

    def damaged(self, what: str, item_id: str) -> bool:
        """Whether the schema refused part of the ``what`` with this id, so that it is not as written."""
        lost = self.lost.get(what, ())
        return lost is None or item_id in lost

    def incomplete(self, path: Path) -> bool:
        """Whether the schema refused something at, inside or around ``path`` (given without list indices)."""
        return any(path[: len(gone)] == gone[: len(path)] for gone in self.aside)

    def unique(self, path: Path, items: Sequence[object], what: str) -> None:
        """Ids within one list are unique: a second ``agent`` role would make every reference ambiguous."""
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            item_id = item.id  # type: ignore[attr-defined]
            if item_id in first:
                self.duplicate_at.setdefault(path, len(self.findings))
                self.error(
                    (*path, index, "id"),
                    f"'{item_id}' is already the id of {what} number {first[item_id] + 1}; "
                    f"give each {what} its own id",
                )
            else:
                first[item_id] = index

    def ref(self, path: Path, name: str, known: Sequence[str], what: str, plural: str) -> bool:
        """``name`` is one of ``known``; otherwise an error with a hint. True when it resolves.

        Not reported: a name of an item that the schema set aside, and, when some item of this kind
        has a duplicate id, any unknown name (``fold_unmatched`` names them in that error instead).
        """
        if name in known:
            return True
        lost = self.lost.get(what, ())
        if lost is None or name in lost:
            return False
        if self.doubled.get(what):
            self.unmatched[what][name] += 1
            return False
        article = "an" if what[0] in "aeiouAEIOS" else "a"
        if not known:
            self.error(path, f"'{name}' is not {article} {what}: this protocol defines no {plural}")
            return False
        hint = did_you_mean(name, [*known, *sorted(lost)])
        if not hint:
            hint = f"; the {plural} are {_listing(dict.fromkeys(known))}"
        self.error(path, f"'{name}' is not {article} {what}{hint}")
        return False

    def role_ref(self, path: Path, text: str) -> None:
        """A ``role:ID`` reference."""
        if not text.startswith("role:"):
            hint = f'; write "role:{text}"' if text in self.roles else ', such as "role:lead"'
            self.error(path, f"'{text}' must name a role as role:ID{hint}")
            return
        self.ref(path, text[len("role:") :], self.roles, "role", "roles")

    def recipient(self, path: Path, text: str, *, assignee: bool) -> None:
        """Someone to notify: ``assignee`` (where allowed), ``role:ID``, ``group:ID`` or an address."""
        if text == "assignee" and assignee:
            return
        if text.startswith("role:"):
            self.ref(path, text[len("role:") :], self.roles, "role", "roles")
            return
        if text.startswith("group:"):
            self.ref(path, text[len("group:") :], self.groups, "group", "groups")
            return
        if _EMAIL.fullmatch(text):
            return
        forms = (
            "assignee, role:ID, group:ID or an email address"
            if assignee
            else "role:ID, group:ID or an email address"
        )
        if text in self.roles:
            hint = f'; did you mean "role:{text}"?'
        elif text in self.groups:
            hint = f'; did you mean "group:{text}"?'
        else:
            hint = f"; write {forms}"
        self.error(path, f"'{text}' is not someone the desk can notify{hint}")

    def match_refs(self, path: Path, match: Match) -> None:
        for index, channel in enumerate(match.channel or ()):
            self.ref(
                (*path, "channel", index), channel, self.channels, "customer channel", "customer channels"
            )
        for index, group in enumerate(match.group or ()):
            self.ref((*path, "group", index), group, self.groups, "group", "groups")

    def actions(self, path: Path, actions: Sequence[Action]) -> None:
        for index, action in enumerate(actions):
            where = (*path, index, action.kind)
            if action.kind == "notify":
                self.recipient(where, action.value, assignee=True)
            elif action.kind == "assign_group":
                self.ref(where, action.value, self.groups, "group", "groups")

    def role_has_permission(self, path: Path, role_id: str, permission: str, doing: str) -> None:
        """A role named to do something should also hold the permission that lets people do it."""
        if role_id not in self.roles or role_id in self.doubled["role"] or self.damaged("role", role_id):
            return  # an unknown role is an error already; a doubled one is ambiguous, a damaged one partial
        role = self.p.role(role_id)
        if permission not in permissions.expand(role.permissions):
            self.warning(
                path,
                f"role '{role_id}' is named to {doing}, but its permissions do not include {permission}; "
                f"add {permission} to the role, since roles alone decide what a person may do",
            )

    # ----------------------------------------------------------------------------------- sections

    def check_objectives(self) -> None:
        self.unique(("objectives",), self.p.objectives, "objective")
        reporting = self.p.reporting
        for index, objective in enumerate(self.p.objectives):
            path = ("objectives", index)
            kpi = objective.kpi
            if kpi not in KPI_NAMES:
                hint = did_you_mean(kpi, KPI_NAMES) or f"; use one of {_listing(KPI_NAMES)}"
                self.error((*path, "kpi"), f"'{kpi}' is not a KPI{hint}")
                continue
            self.objective_target(path, objective.kpi, objective.target)
            if (
                reporting is not None
                and reporting.kpis is not None
                and kpi not in reporting.kpis
                and not self.incomplete(("reporting", "kpis"))
            ):
                self.warning(
                    (*path, "kpi"),
                    f"'{kpi}' is not among reporting.kpis, so no report shows how this objective is doing; "
                    f"add it to reporting.kpis",
                )

    def objective_target(self, path: Path, kpi: str, target: Mapping[Any, object]) -> None:
        for key, value in target.items():
            where = (*path, "target", key)
            if kpi in TIME_KPIS and key in ("min", "max"):
                self.error(where, f"{kpi} is a time: give a percentile target such as {{p90: 1h}}")
            elif kpi not in TIME_KPIS and key.startswith("p"):
                self.error(where, f"{kpi} is not a time: give a bound such as {{min: 0.9}} or {{max: 0.1}}")
            elif kpi in RATIO_KPIS and isinstance(value, float) and not 0 <= value <= 1:
                self.error(
                    where,
                    f"{kpi} is a ratio between 0 and 1, so {value:g} cannot be reached; write 0.9 for 90%",
                )
            elif kpi == "nps" and isinstance(value, float) and not -100 <= value <= 100:
                self.error(where, f"NPS runs from -100 to 100, so {value:g} cannot be reached")

    def check_team(self) -> None:
        team = self.p.team
        self.unique(("team", "roles"), team.roles, "role")
        self.unique(("team", "groups"), team.groups, "group")
        for index, role in enumerate(team.roles):
            path = ("team", "roles", index)
            if role.reports_to is not None and role.reports_to != role.id:
                self.ref((*path, "reports_to"), role.reports_to, self.roles, "role", "roles")
            for number, permission in enumerate(role.permissions):
                if not permissions.matches_any(permission):
                    self.error((*path, "permissions", number), _bad_permission(permission))
        self.reporting_loops()
        for index, group in enumerate(team.groups):
            path = ("team", "groups", index)
            for number, role_id in enumerate(group.roles):
                self.ref((*path, "roles", number), role_id, self.roles, "role", "roles")
            for number, channel in enumerate(group.channels):
                self.ref(
                    (*path, "channels", number),
                    channel,
                    self.channels,
                    "customer channel",
                    "customer channels",
                )

    def reporting_loops(self) -> None:
        """``reports_to`` chains end at a role that reports to no one; each loop is named once."""
        doubled = self.doubled["role"]  # whom a doubled id stands for is anyone's guess: no loop is sure
        boss = {
            role.id: role.reports_to
            for role in self.p.team.roles
            if role.reports_to in self.roles and role.id not in doubled and role.reports_to not in doubled
        }
        index_of = {role.id: index for index, role in reversed(list(enumerate(self.p.team.roles)))}
        reported: set[str] = set()
        for role in self.p.team.roles:
            chain = [role.id]
            while chain[-1] in boss and boss[chain[-1]] not in chain:
                chain.append(boss[chain[-1]])
            if chain[-1] not in boss:
                continue  # the chain ends
            start = chain.index(boss[chain[-1]])
            loop = chain[start:]
            if reported.intersection(loop):
                continue
            reported.update(loop)
            first = min(loop, key=lambda role_id: index_of[role_id])
            at = loop.index(first)
            named = loop[at:] + loop[:at] + [first]
            self.error(
                ("team", "roles", index_of[first], "reports_to"),
                f"reports_to makes a loop: {' -> '.join(named)}; the chain must end at a role "
                f"that reports to no one",
            )

    def check_calendars(self) -> None:
        self.unique(("calendars",), self.p.calendars, "calendar")
        for index, calendar in enumerate(self.p.calendars):
            self.calendar(("calendars", index), calendar)

    def calendar(self, path: Path, calendar: Calendar) -> None:
        holidays = calendar.holidays
        has_dates = holidays is not None and bool(holidays.country or holidays.closed or holidays.open)
        if calendar.timezone is not None:
            self.timezone((*path, "timezone"), calendar.timezone)
        elif not calendar.always_open:
            self.error(
                path,
                f"calendar '{calendar.id}' has business hours, so it needs a timezone in which to read them, "
                f"such as timezone: America/New_York",
            )
        elif has_dates:
            self.error(
                path,
                f"calendar '{calendar.id}' has holidays or dates, so it needs a timezone to know when "
                f"those days begin and end, such as timezone: America/New_York",
            )
        if calendar.always_open and holidays is not None:
            if holidays.country or holidays.closed:
                # The calendar engine honours them: such a calendar is closed all day on each holiday.
                self.warning(
                    (*path, "holidays"),
                    "hours: 24x7 with holidays: the desk closes this calendar all day on each holiday, so it "
                    "is not open around the clock; remove the holidays if the team works every day",
                )
            for day, ranges in holidays.open.items():
                self.warning(
                    (*path, "holidays", "open", str(day)),
                    f"this calendar is open around the clock, but on {day} only {_ranges(ranges)}: an open "
                    f"date has exactly its own hours; remove it if the team works all day then",
                )
        weekly = calendar.hours if isinstance(calendar.hours, WeeklyHours) else None
        if weekly is not None and not weekly.days and not (holidays and holidays.open):
            self.error(
                (*path, "hours"),
                f"calendar '{calendar.id}' is never open: it has no weekly hours and no open dates, so no "
                f'time would ever count; add hours such as {{mon-fri: "09:00-17:00"}}, or write 24x7',
            )
        if holidays is not None:
            if holidays.subdivision and not holidays.country:
                self.error(
                    (*path, "holidays", "subdivision"),
                    "a subdivision needs the country it belongs to; add country: (such as US for NY)",
                )
            elif holidays.country:
                self.public_holidays((*path, "holidays"), holidays.country, holidays.subdivision)

    def timezone(self, path: Path, name: str) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
            return
        except (ZoneInfoNotFoundError, ValueError):
            pass
        self.error(path, f"'{name}' is not a time zone{_zone_hint(name)}")

    def public_holidays(self, path: Path, country: str, subdivision: str | None) -> None:
        facts = _holiday_facts(country)
        if facts is None:
            self.error(
                (*path, "country"),
                f"'{country}' is not a country the holidays package knows{_country_hint(country)}",
            )
            return
        subdivisions, aliases = facts
        if subdivision is None or subdivision in subdivisions or subdivision in aliases:
            return
        hint = did_you_mean(subdivision, subdivisions + aliases)
        if not hint and subdivisions:
            hint = f"; {country} has {_listing(subdivisions, 15)}"
        elif not subdivisions:
            hint = f"; the holidays package has no subdivisions for {country}, so leave subdivision out"
        self.error((*path, "subdivision"), f"'{subdivision}' is not a subdivision of {country}{hint}")

    def check_channels(self) -> None:
        self.unique(("channels", "customer"), self.p.channels.customer, "channel")
        addresses: dict[str, str] = {}
        for index, channel in enumerate(self.p.channels.customer):
            if channel.kind == "email" and channel.address is not None:
                self.channel_address(("channels", "customer", index, "address"), channel, addresses)
            if channel.calendar is not None:
                self.ref(
                    ("channels", "customer", index, "calendar"),
                    channel.calendar,
                    list(self.calendars),
                    "calendar",
                    "calendars",
                )

    def channel_address(self, path: Path, channel: Channel, seen: dict[str, str]) -> None:
        """An email channel's address receives mail and is the base of every reply address.

        Inbound mail is routed by its recipient with any ``+tag`` taken off, and reply addresses
        add a ``+tag`` of their own, so an address that carries one already would never be
        matched; two channels with one address would make routing a guess."""
        address = channel.address or ""
        if not _EMAIL.fullmatch(address):
            self.error(path, f"'{address}' is not an email address, such as support@acme.example")
            return
        if "+" in address.partition("@")[0]:
            base = address.partition("+")[0] + "@" + address.partition("@")[2]
            self.error(
                path,
                f"'{address}' must not contain '+': the desk adds a +tag of its own for each "
                f"ticket's reply address; write {base}",
            )
            return
        key = address.lower()
        if key in seen:
            self.error(
                path,
                f"'{address}' is already the address of channel '{seen[key]}'; "
                "give each email channel its own address",
            )
        else:
            seen[key] = channel.id

    def check_sla(self) -> None:
        sla = self.p.sla
        self.unique(("sla", "policies"), sla.policies, "policy")
        for index, policy in enumerate(sla.policies):
            path = ("sla", "policies", index)
            known_calendar = self.ref(
                (*path, "calendar"), policy.calendar, list(self.calendars), "calendar", "calendars"
            )
            self.match_refs((*path, "match"), policy.match)
            targeted = [metric for metric in METRICS if _has_target(policy, metric)]
            if not targeted:
                self.warning(
                    (*path, "targets"),
                    f"policy '{policy.id}' has no targets, so the tickets it fits get no response-time "
                    f"promise; add first_response or resolution",
                )
            if (
                known_calendar
                and not self.calendars[policy.calendar].always_open
                and not self.damaged("calendar", policy.calendar)
            ):
                self.days_in_business_time(path, policy)
        # A shadowed policy is a warning, not an error: the file has one clear meaning and the desk
        # runs it, but the author almost certainly meant the later policy to apply to some tickets.
        for later in range(1, len(sla.policies)):
            for earlier in range(later):
                if self.damaged("SLA policy", sla.policies[earlier].id):
                    continue  # what it matches may not be what the file says
                if _covers(sla.policies[earlier].match, sla.policies[later].match):
                    self.warning(
                        ("sla", "policies", later, "id"),
                        _shadowed(sla.policies[earlier], sla.policies[later]),
                    )
                    break
        if not any(policy.match.is_catch_all for policy in sla.policies):
            self.warning(
                ("sla", "policies"),
                "no policy has match: {}, so a ticket that fits none of them gets no response-time targets; "
                "end the list with a policy for every other ticket",
            )

    def days_in_business_time(self, path: Path, policy: object) -> None:
        """``2d`` under business hours is 48 business hours, which is rarely what is meant."""
        for metric in METRICS:
            target = policy.targets.get(metric)  # type: ignore[attr-defined]
            if target is None:
                continue
            items = (
                [((), target.for_priority("normal"))]
                if target.uniform
                else [((priority,), duration) for priority, duration in target.by_priority.items()]
            )
            for suffix, duration in items:
                if duration is not None and "d" in duration.text:
                    self.warning(
                        (*path, "targets", metric, *suffix),
                        f"'{duration.text}' under the business-hours calendar '{policy.calendar}' "  # type: ignore[attr-defined]
                        f"counts {duration.seconds // 3600} business hours, not working days; "
                        f"write the business hours you mean, such as 20h",
                    )

    def check_escalation(self) -> None:
        self.unique(("escalation",), self.p.escalation, "escalation rule")
        targeted = {
            metric for policy in self.p.sla.policies for metric in METRICS if _has_target(policy, metric)
        }
        for index, rule in enumerate(self.p.escalation):
            path = ("escalation", index)
            when = rule.when
            self.match_refs((*path, "when"), when.also)
            if (
                when.metric != "any"
                and when.metric not in targeted
                and not self.incomplete(("sla", "policies"))
            ):
                self.warning(
                    (*path, "when", "metric"),
                    f"no SLA policy has a {when.metric} target, so this rule never fires; "
                    f"add a {when.metric} target to a policy or remove the rule",
                )
            self.actions((*path, "do"), rule.do)

    def check_resolution(self) -> None:
        resolution = self.p.resolution
        if resolution is None:
            return
        self.unique(("resolution", "procedures"), resolution.procedures, "procedure")
        self.unique(("resolution", "troubleshooting"), resolution.troubleshooting, "troubleshooting tree")
        for index, procedure in enumerate(resolution.procedures):
            self.match_refs(("resolution", "procedures", index, "match"), procedure.match)
        for index, tree in enumerate(resolution.troubleshooting):
            if tree.match is not None:
                self.match_refs(("resolution", "troubleshooting", index, "match"), tree.match)

    def check_contingencies(self) -> None:
        self.unique(("contingencies",), self.p.contingencies, "contingency")
        for index, contingency in enumerate(self.p.contingencies):
            self.actions(("contingencies", index, "do"), contingency.do)
            detect = contingency.detect
            if not detect.phrases_any and not detect.shouting:
                self.warning(
                    ("contingencies", index, "detect"),
                    "this plan is never detected: give detect phrases_any, shouting: true, or both",
                )

    def check_refunds(self) -> None:
        refunds = self.p.refunds
        if refunds is None:
            return
        for index, rule in enumerate(refunds.approval):
            if rule.approve != "auto":
                path = ("refunds", "approval", index, "approve")
                self.role_ref(path, rule.approve)
                self.role_has_permission(
                    path, rule.approve[len("role:") :], "refund.approve", "approve refunds"
                )
        if not self.incomplete(("refunds", "approval")):
            self.approval_order(refunds.currency, refunds.approval)

    def approval_order(self, currency: str, rules: Sequence[object]) -> None:
        """The first rule whose bound fits decides: rules that can never fit, and amounts no rule fits."""
        up_to: float | None = None  # amounts 0..up_to are decided
        above: float | None = None  # amounts above `above` are decided
        for index, rule in enumerate(rules):
            path = ("refunds", "approval", index)
            covered_all = up_to is not None and above is not None and above <= up_to
            if rule.up_to is not None:  # type: ignore[attr-defined]
                bound = rule.up_to  # type: ignore[attr-defined]
                if covered_all or (up_to is not None and bound <= up_to):
                    self.warning(
                        path,
                        f"this rule is never used: every refund of {_money(bound, currency)} or less is "
                        f"already decided by a rule above it; list up_to rules from the smallest bound up",
                    )
                up_to = bound if up_to is None else max(up_to, bound)
            else:
                bound = rule.above  # type: ignore[attr-defined]
                if covered_all or (above is not None and bound >= above):
                    self.warning(
                        path,
                        f"this rule is never used: every refund above {_money(bound, currency)} is already "
                        f"decided by a rule above it; the above rule belongs last",
                    )
                above = bound if above is None else min(above, bound)
        if above is None:
            low = f"above {_money(up_to, currency)}" if up_to is not None else "of any amount"
            example = f'{{above: {up_to:g}, approve: "role:manager"}}' if up_to is not None else ""
            self.warning(
                ("refunds", "approval"),
                f"refunds {low} fit no approval rule; end the list with an above rule"
                + (f", such as {example}" if example else ""),
            )
        elif up_to is None and above > 0:
            self.warning(
                ("refunds", "approval"),
                f"refunds of {_money(above, currency)} or less fit no approval rule; add an up_to rule",
            )
        elif up_to is not None and above > up_to:
            self.warning(
                ("refunds", "approval"),
                f"refunds above {_money(up_to, currency)} and up to {_money(above, currency)} "
                f"fit no approval rule; "
                f"add {{up_to: {above:g}, approve: ...}} or lower the above bound to {up_to:g}",
            )

    def check_privacy(self) -> None:
        privacy = self.p.privacy
        if privacy is None:
            return
        for field in ("customer_data", "exports"):
            for index, role_id in enumerate(getattr(privacy.access, field)):
                self.ref(("privacy", "access", field, index), role_id, self.roles, "role", "roles")

    def check_training(self) -> None:
        training = self.p.training
        if training is None:
            return
        self.unique(("training", "modules"), training.modules, "module")
        for index, module in enumerate(training.modules):
            path = ("training", "modules", index)
            for number, role_id in enumerate(module.required_for):
                self.ref((*path, "required_for", number), role_id, self.roles, "role", "roles")
            for number, section in enumerate(module.covers):
                self.covered_section((*path, "covers", number), section)
            if module.quiz is None:
                continue
            for number, question in enumerate(module.quiz.questions):
                count = len(question.choices)
                if not 0 <= question.answer < count:
                    self.error(
                        (*path, "quiz", "questions", number, "answer"),
                        f"answer {question.answer} is out of range: "
                        f"there are {count} choices, numbered from 0, "
                        f"so the answer is 0 to {count - 1}",
                    )

    def covered_section(self, path: Path, section: str) -> None:
        if section not in SECTION_KEYS:
            hint = (
                did_you_mean(section, SECTION_KEYS)
                or f"; use a top-level section such as {_listing(SECTION_KEYS, 6)}"
            )
            self.error(path, f"'{section}' is not a section of the protocol{hint}")
        elif not self.p.has_section(section) and section not in self.skipped:
            self.error(
                path,
                f"this module covers '{section}', but this protocol has no {section} section; "
                f"remove it from covers or add the section",
            )

    def check_knowledge_base(self) -> None:
        kb = self.p.knowledge_base
        if kb is None or kb.owners is None:
            return
        if kb.owners.startswith("group:"):
            self.ref(("knowledge_base", "owners"), kb.owners[len("group:") :], self.groups, "group", "groups")
        else:
            self.role_ref(("knowledge_base", "owners"), kb.owners)

    def check_reporting(self) -> None:
        reporting = self.p.reporting
        if reporting is None:
            return
        for index, kpi in enumerate(reporting.kpis or ()):
            if kpi not in KPI_NAMES:
                hint = did_you_mean(kpi, KPI_NAMES) or f"; use one of {_listing(KPI_NAMES)}"
                self.error(("reporting", "kpis", index), f"'{kpi}' is not a KPI{hint}")
        for index, schedule in enumerate(reporting.schedule):
            path = ("reporting", "schedule", index)
            if schedule.calendar is not None:
                self.ref(
                    (*path, "calendar"), schedule.calendar, list(self.calendars), "calendar", "calendars"
                )
            for number, recipient in enumerate(schedule.to):
                self.recipient((*path, "to", number), recipient, assignee=False)

    def check_emergency(self) -> None:
        emergency = self.p.emergency
        if emergency is None or emergency.critical_incident is None:
            return
        incident = emergency.critical_incident
        path = ("emergency", "critical_incident")
        for index, declarer in enumerate(incident.declare):
            where = (*path, "declare", index)
            self.role_ref(where, declarer)
            if declarer.startswith("role:"):
                self.role_has_permission(
                    where, declarer[len("role:") :], "incident.declare", "declare incidents"
                )
        if incident.sla_policy is not None:
            self.ref((*path, "sla_policy"), incident.sla_policy, self.policies, "SLA policy", "policies")


# --------------------------------------------------------------------------------------- pure helpers


def _has_target(policy: object, metric: str) -> bool:
    target = policy.targets.get(metric)  # type: ignore[attr-defined]
    return target is not None and bool(target.by_priority)


def _covers(first: Match, later: Match) -> bool:
    """Whether every ticket ``later`` fits is fitted by ``first`` already (so ``later`` is never chosen)."""
    for name in ("priority", "channel", "group"):
        wanted, given = getattr(first, name), getattr(later, name)
        if wanted is not None and (given is None or not set(given) <= set(wanted)):
            return False
    # Tags a ticket that fits `later` is sure to have, and sure not to have.
    sure = set(later.tags_all or ())
    if later.tags_any is not None and len(later.tags_any) == 1:
        sure.update(later.tags_any)
    if first.tags_any is not None:
        some_of = later.tags_any is not None and set(later.tags_any) <= set(first.tags_any)
        if not (sure & set(first.tags_any) or some_of):
            return False
    if first.tags_all is not None and not set(first.tags_all) <= sure:
        return False
    return first.tags_none is None or set(first.tags_none) <= set(later.tags_none or ())


def _shadowed(earlier: object, later: object) -> str:
    first, second = earlier.id, later.id  # type: ignore[attr-defined]
    if earlier.match.is_catch_all:  # type: ignore[attr-defined]
        return (
            f"policy '{second}' is never used: policy '{first}' comes before it with match: {{}}, which fits "
            f"every ticket; move '{second}' above '{first}'"
        )
    return (
        f"policy '{second}' is never used: every ticket it fits is already fitted by policy '{first}', "
        f"which comes first; move '{second}' above '{first}'"
    )


def _bad_permission(permission: str) -> str:
    names = list(permissions.PERMISSIONS)
    families = sorted({name.split(".", 1)[0] + ".*" for name in names})
    hint = did_you_mean(permission, families if "*" in permission else names)
    if not hint:
        family = permission.split(".", 1)[0]
        same_family = [name for name in names if name.startswith(family + ".")]
        if same_family:
            hint = f"; the {family} permissions are {_listing(same_family)}"
        else:
            hint = f"; permissions start with {_listing(families)}"
    return f"'{permission}' is not a desk permission and matches none{hint}"


def _zone_hint(name: str) -> str:
    from zoneinfo import available_timezones

    zones = sorted(available_timezones())
    hint = did_you_mean(name, zones, cutoff=0.75)
    if hint:
        return hint
    city = name.strip().replace(" ", "_").split("/")[-1].lower()
    by_city = [zone for zone in zones if zone.lower().rsplit("/", 1)[-1] == city]
    if by_city:
        return f"; did you mean '{by_city[0]}'?"
    return "; write an IANA name such as Europe/Berlin or America/New_York"


def _holiday_facts(country: str) -> tuple[list[str], list[str]] | None:
    """The subdivisions and subdivision aliases the holidays package has for ``country``; None if unknown.

    ``holidays.country_holidays`` answers this too, but its first call imports every one of the
    package's 250 country modules (about 150 ms), which would double the time ``validate`` takes.
    The registry names the module of each country, and the module states its subdivisions as
    literals; reading them from the source is quick. Should a module not state them plainly, the
    slow, certain way is taken.
    """
    countries = _holiday_countries()
    module = next((name for name, entry in countries.items() if country in entry), None)
    if module is None:
        return None
    facts = _subdivisions_in_source(module, countries[module][0])
    if facts is not None:
        return facts
    import holidays

    known = holidays.country_holidays(country)
    return list(known.subdivisions), list(getattr(known, "subdivisions_aliases", {}))


def _holiday_countries() -> dict[str, tuple[str, ...]]:
    """holidays' registry of countries: module name -> (class name, codes and aliases ...).

    Read from the registry's source, like the subdivisions: importing ``holidays`` costs 30 ms.
    """
    import ast

    text = _holidays_source("registry.py")
    assignment = re.search(r"^COUNTRIES\b[^=\n]*=\s*", text or "", re.MULTILINE)
    literal = _bracketed(text, assignment.end()) if text and assignment else None
    try:
        countries = ast.literal_eval(literal) if literal else None
    except (ValueError, SyntaxError):
        countries = None
    if isinstance(countries, dict):
        return countries
    from holidays.registry import COUNTRIES

    return COUNTRIES


def _holidays_source(name: str) -> str | None:
    """The text of a module of the holidays package, found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        return (FilePath(next(iter(spec.submodule_search_locations))) / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _subdivisions_in_source(module: str, class_name: str) -> tuple[list[str], list[str]] | None:
    """The ``subdivisions`` and ``subdivisions_aliases`` literals of a country's class, from its source.

    Only the two literals are parsed (the whole module would take 30 ms to parse); None whenever
    the source is not as plain as expected, and the caller then asks the package itself.
    """
    import ast

    text = _holidays_source(f"countries/{module}.py")
    if text is None:
        return None
    header = re.search(rf"^class {re.escape(class_name)}\((?P<bases>[^)]*)\):", text, re.MULTILINE)
    if header is None:
        return None
    following = re.compile(r"^\S", re.MULTILINE).search(text, header.end())
    body = text[header.end() : following.start() if following else len(text)]
    found: dict[str, object] = {}
    for name in ("subdivisions", "subdivisions_aliases"):
        assignment = re.search(rf"^    {name}\b[^=\n]*=\s*", body, re.MULTILINE)
        if assignment is None:
            continue
        literal = _bracketed(body, assignment.end())
        if literal is None:
            return None
        try:
            found[name] = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            return None
    bases = [base.strip() for base in header.group("bases").split(",") if base.strip()]
    if "subdivisions" not in found and not all(base.endswith(("HolidayBase", "Holidays")) for base in bases):
        return None  # it may inherit its subdivisions from another country
    subdivisions, aliases = found.get("subdivisions", ()), found.get("subdivisions_aliases", {})
    if not isinstance(subdivisions, tuple | list) or not isinstance(aliases, dict):
        return None
    return [str(code) for code in subdivisions], [str(alias) for alias in aliases]


def _bracketed(text: str, start: int) -> str | None:
    """The bracketed literal that opens at ``text[start]``, up to its matching close; comments dropped."""
    if start >= len(text) or text[start] not in "([{":
        return None
    out: list[str] = []
    depth = 0
    quote = ""
    index = start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                out.append(text[index : index + 2])
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#":
            index = text.find("\n", index)
            if index < 0:
                return None
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                out.append(char)
                return "".join(out)
        out.append(char)
        index += 1
    return None


def _country_hint(country: str) -> str:
    countries = _holiday_countries()
    codes = {code for entry in countries.values() for code in entry[1:] if code.isupper() and len(code) <= 3}
    text = country.strip()
    if text.upper() in codes:
        return f"; did you mean '{text.upper()}'?"
    key = text.lower().replace(" ", "_")
    if key in countries:
        return f"; write its code, '{countries[key][1]}'"
    return "; write a country code such as US, GB or DE"


def _listing(names: Iterable[str], limit: int = 12) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _ranges(ranges: Sequence[tuple[int, int]]) -> str:
    from .hours import format_minutes

    return ", ".join(f"{format_minutes(a)}-{format_minutes(b)}" for a, b in ranges)


def _money(amount: float, currency: str) -> str:
    return f"{amount:g} {currency}"
