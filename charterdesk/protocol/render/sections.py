"""The handbook's sections, in the order of the 13-section template, built from a protocol.

One function per section; each returns None when the protocol leaves the section out,
so the numbering of the sections that are there stays continuous.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ..enforcement import words as promise
from ..models import KPI_NAMES, METRICS, Calendar, Module, Protocol, Role, Targets, TroubleNode
from .document import (
    SectionWriter,
    bullets,
    code,
    esc,
    inline,
    plain_text,
    quoted,
    table,
)
from .words import (
    CHANNEL_KIND_WORDS,
    KPI_WORDS,
    PRIORITY_ORDER,
    STATUS_WORDS,
    audience_words,
    closed_days,
    date_words,
    describe_calendar,
    join_words,
    kpi_words,
    match_words,
    number_words,
    objective_target_words,
    pattern_words,
    role_title,
    rule_words,
    schedule_words,
    staffed_words,
    target_words,
)

LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class HandbookSection:
    """One numbered section of the handbook, for the desk's section-by-section pages.

    ``key`` is the stable anchor (``sla``, ``refunds``, ``answer-key``), ``markdown`` the
    section's Markdown including its heading, ``html`` the same as an HTML fragment.
    """

    key: str
    number: int
    title: str
    markdown: str
    html: str

    @cached_property
    def text(self) -> str:
        """The section's words without markup: what the desk's search indexes."""
        return plain_text(self.markdown)


SECTION_TITLES: dict[str, str] = {
    "introduction": "Introduction",
    "objectives": "Objectives",
    "team": "Team structure, roles and responsibilities",
    "channels": "Communication channels",
    "sla": "Response times and SLAs",
    "escalation": "Escalation procedures",
    "resolution": "Issue resolution",
    "contingencies": "Contingency plans",
    "refunds": "Returns and refunds",
    "privacy": "Customer data and privacy",
    "training": "Training and continuous improvement",
    "knowledge_base": "FAQ and knowledge base",
    "surveys": "Customer feedback and surveys",
    "reporting": "Reporting and KPIs",
    "emergency": "Emergency procedures",
    "etiquette": "Customer support etiquette",
    "appendix": "Appendix",
    "answer-key": "Answer key",
}


def build_sections(protocol: Protocol) -> list[HandbookSection]:
    out: list[HandbookSection] = []
    for key, builder in _BUILDERS:
        writer = SectionWriter(key, len(out) + 1, SECTION_TITLES[key])
        if builder(protocol, writer) is False:
            continue
        out.append(HandbookSection(key, writer.number, writer.title, writer.markdown(), writer.html()))
    return out


# --------------------------------------------------------------------------- 1 introduction, objectives


def _introduction(p: Protocol, w: SectionWriter) -> bool:
    w.author(p.introduction.notes, "notes")
    w.subsection("Purpose")
    w.author(p.introduction.purpose)
    w.subsection("Scope")
    w.author(p.introduction.scope)
    return True


def _objectives(p: Protocol, w: SectionWriter) -> bool:
    if not p.objectives:
        return False
    rows = [
        (
            inline(o.text) if o.text else esc(o.id.replace("-", " ").replace("_", " ").capitalize()),
            esc(kpi_words(o.kpi)),
            f"**{esc(objective_target_words(o))}**",
        )
        for o in p.objectives
    ]
    w.add(promise("objectives.tracked"))
    w.add(table(["Objective", "KPI", "Target"], rows))
    return True


# --------------------------------------------------------------------------- team


def _team(p: Protocol, w: SectionWriter) -> bool:
    team = p.team
    w.author(team.notes, "notes")
    if team.structure:
        w.subsection("Team structure")
        w.author(team.structure)
    w.subsection("Roles and responsibilities")
    rows = []
    for role in team.roles:
        permissions = ["everything (`*`)" if perm == "*" else code(perm) for perm in role.permissions] or [
            "—"
        ]
        rows.append(
            (
                f"**{esc(role.title)}**",
                str(role.tier) if role.tier is not None else "—",
                esc(role_title(p, role.reports_to)) if role.reports_to else "—",
                "; ".join(inline(r).rstrip(".") for r in role.responsibilities) or "—",
                ", ".join(permissions),
            )
        )
    w.add(table(["Role", "Tier", "Reports to", "Responsibilities", "Permissions"], rows), "roles")
    _item_notes(w, [(role.title, role.notes) for role in team.roles])
    chains = _reporting_chains(p)
    if chains:
        w.subsection("Reporting lines")
        w.add(bullets(esc(" → ".join(chain)) for chain in chains), "chains")
    if team.groups:
        w.subsection("Groups")
        items = []
        for group in team.groups:
            roles = join_words([esc(role_title(p, r)) for r in group.roles]) or "no roles yet"
            text = f"**{esc(group.name)}** — {roles}"
            if group.channels:
                text += f"; answers {join_words([esc(c) for c in group.channels])}"
            items.append(text)
        w.add(bullets(items))
        _item_notes(w, [(group.name, group.notes) for group in team.groups])
    return True


def _reporting_chains(p: Protocol) -> list[list[str]]:
    """One chain per role nobody reports to, up to the top: Agent → Lead → Manager."""
    roles = {role.id: role for role in p.team.roles}
    has_reports = {role.reports_to for role in p.team.roles if role.reports_to}
    chains = []
    for role in p.team.roles:
        if role.id in has_reports or not role.reports_to:
            continue
        chain: list[str] = []
        seen: set[str] = set()
        current: Role | None = role
        while current is not None and current.id not in seen:
            seen.add(current.id)
            chain.append(current.title)
            current = roles.get(current.reports_to) if current.reports_to else None
        chains.append(chain)
    return chains


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _item_notes(w: SectionWriter, notes: list[tuple[str, str | None]]) -> None:
    for name, note in notes:
        if note and note.strip():
            w.add(f"**{esc(name)}.** " + note.strip(), "notes")


# --------------------------------------------------------------------------- channels


def _channels(p: Protocol, w: SectionWriter) -> bool:
    channels = p.channels
    w.author(channels.notes, "notes")
    w.subsection("Customer contact channels")
    rows = []
    for channel in channels.customer:
        hours = "—"
        if channel.calendar:
            calendar = _calendar(p, channel.calendar)
            hours = esc(staffed_words(calendar)) if calendar else esc(channel.calendar)
        rows.append(
            (
                f"**{esc(channel.id)}**",
                esc(CHANNEL_KIND_WORDS[channel.kind]),
                _address(channel.address),
                hours,
                "Yes" if channel.acknowledge else "No",
            )
        )
    w.add(table(["Channel", "Kind", "Address", "Staffed", "Automatic receipt"], rows))
    if any(c.acknowledge for c in channels.customer):
        w.add(promise("channels.acknowledge"))
    _item_notes(w, [(c.id, c.notes) for c in channels.customer])
    if channels.internal:
        w.subsection("Internal communication")
        w.author(channels.internal)
    return True


def _address(address: str | None) -> str:
    if not address:
        return "—"
    if "@" in address and " " not in address:
        return f"[{esc(address)}](mailto:{address})"
    return esc(address)


def _calendar(p: Protocol, calendar_id: str) -> Calendar | None:
    try:
        return p.calendar(calendar_id)
    except KeyError:
        return None


# --------------------------------------------------------------------------- SLA and calendars


def _sla(p: Protocol, w: SectionWriter) -> bool:
    sla = p.sla
    w.author(sla.notes, "notes")
    w.subsection("Response-time targets", "targets")
    if sla.pause_when:
        paused = join_words([STATUS_WORDS.get(s, s) for s in sla.pause_when], "or")
        pause = f"The resolution clock stops while a ticket is {paused}; the other clocks never stop."
    else:
        pause = "No clock ever stops: resolution time counts in every status."
    w.add(
        "Each ticket gets the first policy below that fits it. Times count in the business hours of "
        f"the policy's calendar. {pause} A dash means no target. {promise('sla.clocks')}"
    )
    for policy in sla.policies:
        w.item(f"Policy “{policy.id}”", f"policy-{policy.id}")
        first = policy is sla.policies[0]
        applies = match_words(policy.match, p, empty="Every ticket" if first else "Every other ticket")
        calendar = _calendar(p, policy.calendar)
        clock = esc(staffed_words(calendar)) if calendar else "—"
        w.add(f"**Applies to:** {esc(applies)}.  \n**Clock:** {clock} (calendar *{esc(policy.calendar)}*).")
        w.add(_targets_table(policy.targets, list(policy.match.priority or [])), "targets")
        w.author(policy.notes, "notes")
    w.subsection("Business hours and holidays", "calendars")
    for calendar in p.calendars:
        w.item(f"Calendar “{calendar.id}”", f"calendar-{calendar.id}")
        w.add(esc(describe_calendar(calendar)) + ".")
        w.author(calendar.notes, "notes")
        if p.effective is not None and calendar.holidays is not None:
            days = closed_days(calendar, p.effective)
            if days:
                w.add(
                    f"Closed days in the twelve months from {esc(date_words(p.effective))}:\n\n"
                    + table(
                        ["Date", "Day", "Holiday"],
                        [(esc(date_words(d)), d.strftime("%a"), esc(n)) for d, n in days],
                    ),
                    "holidays",
                )
    return True


def _targets_table(targets: Targets, priorities: list[str]) -> str:
    metrics = [m for m in METRICS if targets.get(m) is not None]
    headers = ["Priority", *(m.replace("_", " ").capitalize() for m in metrics)]
    if not metrics:
        return "No response-time targets."
    present = [t for t in (targets.get(m) for m in metrics) if t is not None]
    if all(t.uniform for t in present) and not priorities:
        row = [esc(target_words(targets.get(m), "normal")) for m in metrics]
        return table(headers, [("All priorities", *row)])
    rows = []
    for priority in PRIORITY_ORDER:
        if priorities and priority not in priorities:
            continue
        cells = []
        for metric in metrics:
            cells.append(esc(target_words(targets.get(metric), priority)))
        rows.append((priority.capitalize(), *cells))
    return table(headers, rows)


# --------------------------------------------------------------------------- escalation


def _escalation(p: Protocol, w: SectionWriter) -> bool:
    if not p.escalation:
        return False
    w.add(promise("escalation.rules"))
    for rule in p.escalation:
        w.add(f"**{esc(rule.id)}** — {esc(rule_words(rule, p))}.", "rule")
        w.author(rule.notes, "notes")
    return True


# --------------------------------------------------------------------------- resolution


_ASSIGNMENT = {
    "round_robin": "New tickets are assigned to the agents of a group in turn (round robin).",
    "least_open": "New tickets go to the agent with the fewest open tickets.",
    "manual": "Tickets are assigned by hand; agents take tickets from their group's queue.",
}


def _resolution(p: Protocol, w: SectionWriter) -> bool:
    resolution = p.resolution
    if resolution is None:
        return False
    w.author(resolution.notes, "notes")
    w.subsection("Ticket handling", "handling")
    handling = [esc(_ASSIGNMENT[resolution.handling.assignment])]
    if resolution.handling.auto_close_solved_after:
        after = esc(resolution.handling.auto_close_solved_after.in_words())
        handling.append(promise("resolution.auto_close", after=after))
    w.add(" ".join(handling))
    w.author(resolution.handling.notes, "notes")
    if resolution.procedures:
        w.subsection("Procedures")
        w.add(promise("resolution.procedures"))
        for procedure in resolution.procedures:
            w.item(procedure.title, f"procedure-{procedure.id}")
            shown = match_words(procedure.match, p, empty="every ticket")
            w.add(f"Shown on {esc(shown[0].lower() + shown[1:])}.")
            if procedure.required:
                w.add("**Required:** every step must be ticked before the ticket can be solved.", "required")
            w.add(bullets((inline(step) for step in procedure.steps), numbered=True), "steps")
            if procedure.illustrations:
                w.add("Illustrations: " + ", ".join(code(path) for path in procedure.illustrations))
            w.author(procedure.notes, "notes")
    if resolution.troubleshooting:
        w.subsection("Troubleshooting")
        w.add("Follow the questions down to a resolution.")
        for tree in resolution.troubleshooting:
            w.item(tree.title or tree.question, f"troubleshooting-{tree.id}")
            if tree.match is not None:
                shown = match_words(tree.match, p, empty="every ticket")
                w.add(f"Shown on {esc(shown[0].lower() + shown[1:])}.")
            else:
                words = join_words([code(word) for word in tree.id.split("-")], "or")
                w.add(f"Shown on tickets tagged {words}; on others, offered from the ticket page's menu.")
            w.add(_tree(tree, ask=tree.title is not None), "tree")
    if resolution.escalation_criteria:
        w.subsection("Escalation criteria")
        w.author(resolution.escalation_criteria)
    if resolution.follow_up:
        follow = resolution.follow_up
        w.subsection("Customer follow-up", "follow-up")
        w.add(_capital(promise("resolution.follow_up", after=esc(follow.after_solved.in_words()))))
        w.add("> " + inline(follow.message), "quote")
        w.author(follow.notes, "notes")
    return True


def _tree(node: TroubleNode, *, ask: bool = True) -> str:
    answers = []
    for answer in node.answers:
        if answer.next is not None:
            body = f"**{inline(answer.label)}** → {_tree(answer.next)}"
        else:
            body = f"**{inline(answer.label)}** → {inline(answer.resolution or '')}"
        answers.append(body)
    return (f"*{inline(node.question)}*\n\n" if ask else "") + bullets(answers)


# --------------------------------------------------------------------------- contingencies, refunds, privacy


def _contingencies(p: Protocol, w: SectionWriter) -> bool:
    if not p.contingencies:
        return False
    w.add(promise("contingencies.detect"))
    for plan in p.contingencies:
        w.item(plan.title, f"plan-{plan.id}")
        signs = []
        if plan.detect.phrases_any:
            signs.append(
                "a message contains " + join_words([quoted(x) for x in plan.detect.phrases_any], "or")
            )
        if plan.detect.shouting:
            signs.append("a message is written in capitals (shouting)")
        if signs:
            w.add("**Recognised when** " + join_words(signs, "or") + ".")
        w.add(bullets((inline(step) for step in plan.steps), numbered=True), "steps")
        if plan.do:
            from .words import actions_words

            w.add(f"**The desk will** {esc(actions_words(plan.do, p))}.")
        w.author(plan.notes, "notes")
    return True


def _refunds(p: Protocol, w: SectionWriter) -> bool:
    refunds = p.refunds
    if refunds is None:
        return False
    w.author(refunds.notes, "notes")
    w.subsection("Eligibility")
    w.add(
        f"A return is accepted within **{refunds.window_days} days** of delivery (of purchase when there "
        "is no delivery date)."
    )
    if refunds.conditions:
        w.add("The item must meet every condition:\n\n" + bullets(inline(c) for c in refunds.conditions))
    if refunds.exclusions:
        w.add("Never refunded: " + join_words([code(x) for x in refunds.exclusions]) + ".")
    w.subsection("Approval")
    rows = []
    for rule in refunds.approval:
        if rule.up_to is not None:
            amount = f"Up to {number_words(rule.up_to)} {refunds.currency}"
        else:
            amount = f"Above {number_words(rule.above or 0)} {refunds.currency}"
        who = (
            "Approved automatically" if rule.approve == "auto" else _capital(audience_words(p, rule.approve))
        )
        rows.append((esc(amount), esc(who)))
    w.add("The first row whose amount fits decides who approves.")
    w.add(table(["Refund amount", "Approved by"], rows))
    if refunds.limits.per_customer_per_year is not None:
        w.add(f"At most **{refunds.limits.per_customer_per_year}** refunds per customer per year.")
    return True


_REDACT_WORDS = {
    "payment_card": "payment card numbers",
    "iban": "IBANs",
    "national_id": "national ID numbers",
    "password": "passwords",
    "email_address": "email addresses",
    "phone_number": "phone numbers",
}


def _privacy(p: Protocol, w: SectionWriter) -> bool:
    privacy = p.privacy
    if privacy is None:
        return False
    w.author(privacy.notes, "notes")
    w.subsection("Data handling")
    w.author(privacy.data_handling)
    if privacy.redact:
        w.add(promise("privacy.redact", what=join_words([_REDACT_WORDS[r] for r in privacy.redact])))
    retention = privacy.retention
    kept = []
    if retention.closed_tickets:
        kept.append(f"closed tickets are deleted after {retention.closed_tickets.in_words()}")
    if retention.attachments:
        kept.append(f"attachments after {retention.attachments.in_words()}")
    if kept:
        text = join_words(kept, "and")
        w.add(esc(text[0].upper() + text[1:] + "."))
    access = privacy.access
    if access.customer_data or access.exports:
        rows = []
        if access.customer_data:
            rows.append(("Customer data", join_words([esc(role_title(p, r)) for r in access.customer_data])))
        if access.exports:
            rows.append(("Data exports", join_words([esc(role_title(p, r)) for r in access.exports])))
        w.add(table(["What", "Who may see it"], rows))
        if access.customer_data:
            w.add(promise("privacy.customer_data"))
    if privacy.policy_url:
        w.subsection("Privacy policy compliance", "policy")
        w.add(
            f"Our privacy policy is published at <{privacy.policy_url}>; what we tell customers follows it."
        )
    return True


# --------------------------------------------------------------------------- training


def _recertify_words(module: Module) -> str:
    if module.recertify == "on_change":
        return "again whenever a section it covers changes"
    if module.recertify == "never":
        return "once"
    return f"again every {module.recertify.in_words()}"


def _training(p: Protocol, w: SectionWriter) -> bool:
    training = p.training
    if training is None or not (training.modules or training.feedback or training.notes):
        return False
    w.author(training.notes, "notes")
    if training.modules:
        w.subsection("Training programs", "modules")
    for module in training.modules:
        w.item(module.title, f"module-{module.id}")
        facts = []
        if module.covers:
            facts.append("**Covers:** " + "; ".join(esc(SECTION_TITLES.get(c, c)) for c in module.covers))
        if module.required_for:
            who = join_words([esc(role_title(p, r)) for r in module.required_for])
            facts.append(f"**Required for:** {who}, {esc(_recertify_words(module))}")
        if module.quiz:
            facts.append(f"**Pass mark:** {module.quiz.pass_mark}%")
        if facts:
            w.add("  \n".join(facts))
        w.author(module.material)
        for example in module.examples:
            parts = [f"**Situation:** {inline(example.situation)}"]
            if example.right:
                parts.append(f"**Right:** {inline(example.right)}")
            if example.wrong:
                parts.append(f"**Wrong:** {inline(example.wrong)}")
            w.add("  \n".join(parts), "example")
        if module.quiz:
            questions = []
            for question in module.quiz.questions:
                choices = bullets(f"{LETTERS[i]}) {inline(c)}" for i, c in enumerate(question.choices))
                questions.append(f"{inline(question.q)}\n\n{choices}")
            w.add("**Self-test** (answers in the *Answer key* at the end)")
            w.add(bullets(questions, numbered=True), "quiz")
        w.author(module.notes, "notes")
    if training.feedback:
        w.subsection("Feedback and improvement", "feedback")
        w.author(training.feedback)
    return True


# --------------------------------------------------------------------------- knowledge base, surveys, reports


def _knowledge_base(p: Protocol, w: SectionWriter) -> bool:
    kb = p.knowledge_base
    if kb is None:
        return False
    w.author(kb.notes, "notes")
    lines = []
    if kb.review_every:
        lines.append(
            f"Every FAQ and knowledge-base article is reviewed at least every {kb.review_every.in_words()}; "
            "an article not reviewed for that long is marked stale."
        )
    if kb.owners:
        lines.append(f"Articles are owned by {audience_words(p, kb.owners)}, who keeps them current.")
    w.add(" ".join(esc(line) for line in lines))
    return True


def _surveys(p: Protocol, w: SectionWriter) -> bool:
    surveys = p.surveys
    if surveys is None:
        return False
    w.author(surveys.notes, "notes")
    items = []
    if surveys.csat:
        csat = surveys.csat
        items.append(
            f"**Satisfaction (CSAT)** — {esc(csat.send_after.in_words())} after a ticket is solved we email "
            f"{quoted(csat.question)} on a scale of 1 to {csat.scale}; ratings {csat.scale - 1} and "
            f"{csat.scale} count as satisfied."
        )
    if surveys.ces:
        items.append(
            f"**Customer effort (CES)** — {esc(surveys.ces.send_after.in_words())} after a ticket is solved "
            f"we email {quoted(surveys.ces.question)} on a scale of 1 (very easy) to 7 (very hard)."
        )
    if surveys.nps:
        with_ = (
            "with the satisfaction survey"
            if surveys.csat
            else ("with the effort survey" if surveys.ces else "when a ticket is solved")
        )
        items.append(
            f"**Net Promoter Score (NPS)** — {with_} we also ask {quoted(surveys.nps.question)} on a scale "
            f"of 0 to 10, at most once every {esc(surveys.nps.every.in_words())} for each customer."
        )
    if items:
        w.subsection("Feedback collection", "collection")
        w.add(bullets(items))
        w.add(
            "A survey is not sent when the ticket was reopened or merged into another before it was due, "
            "to a customer who opted out (every survey email has the link, and it counts at once), or "
            "where an automatic reply would not go (no-reply and robot addresses, tickets opened by "
            "automatic mail, the hourly limit of automatic mail per address). A customer answers from "
            "the email (a link for each rating, then a button to confirm it) or on the ticket in the "
            "portal, may add a comment, and may change the rating for seven days."
        )
        low = []
        if surveys.csat:
            low.append("satisfaction 1 or 2")
        if surveys.nps:
            low.append("NPS 0 to 6")
        if surveys.ces:
            low.append("effort 5 or more")
        lead = next((role.title for role in p.team.roles if role.id == "lead"), None)
        fallback = f" (the {esc(str(lead))} role when nobody is assigned)" if lead else ""
        w.subsection("Survey analysis", "analysis")
        w.add(promise("surveys.sent", low=", ".join(low), fallback=fallback))
    return True


def _reporting(p: Protocol, w: SectionWriter) -> bool:
    reporting = p.reporting
    if reporting is None:
        return False
    w.author(reporting.notes, "notes")
    # Without a `kpis` list every KPI is reported.
    kpis = reporting.kpis if reporting.kpis is not None else KPI_NAMES
    if kpis:
        w.subsection("Key performance indicators", "kpis")
        w.add(promise("reporting.kpis"))
        rows = [(f"**{esc(kpi_words(k))}**", esc(KPI_WORDS.get(k, ("", ""))[1])) for k in kpis]
        w.add(table(["KPI", "Definition"], rows))
        w.add(
            "The desk's reports page shows each of these for a period (this or last week or month, "
            "the last 30 or 90 days, or chosen dates), with its trend day by day or week by week and "
            "broken down by group, channel, priority and agent; every table downloads as CSV. "
            "Everyone who works tickets sees their own numbers; people whose role grants reports.view "
            "see their groups' tickets, and with people.manage too, every ticket."
        )
        if "handle_time" in kpis:
            w.add(promise("reporting.handle_time"))
    if reporting.schedule:
        w.subsection("Reporting frequency", "schedule")
        w.add(bullets(esc(schedule_words(s, p)) for s in reporting.schedule))
        w.add(
            "Each report covers the whole days before the day it is sent: a daily report the day before, "
            "a weekly report the Monday-to-Sunday week before, a monthly report the month before. It "
            "comes as an email with the figures and charts and the same report as a PDF, once for each "
            "time it is due; one missed while the desk was down is sent when it is back, marked late."
        )
    return True


# --------------------------------------------------------------------------- emergency, etiquette


def _emergency(p: Protocol, w: SectionWriter) -> bool:
    emergency = p.emergency
    if emergency is None:
        return False
    w.author(emergency.notes, "notes")
    incident = emergency.critical_incident
    if incident:
        w.subsection("Critical incident response", "incident")
        who = join_words([audience_words(p, x) for x in incident.declare], "or")
        items = [f"A critical incident is declared by {esc(who)}."]
        if incident.banner:
            items.append(f"While it lasts, agents see the banner {quoted(incident.banner)}")
        if incident.auto_reply:
            items.append(f"Customers who write get the automatic reply {quoted(incident.auto_reply)}")
        if incident.update_every:
            items.append(
                "Post an update to every linked ticket at least every "
                f"{esc(incident.update_every.in_words())}."
            )
        if incident.sla_policy:
            items.append(f"Linked tickets follow the SLA policy “{esc(incident.sla_policy)}”.")
        w.add(bullets(items))
    recovery = emergency.disaster_recovery
    if recovery:
        w.subsection("Disaster recovery plan", "recovery")
        rows = []
        if recovery.backup_every:
            rows.append(("Backups", f"every {recovery.backup_every.in_words()}"))
        if recovery.keep:
            rows.append(("Backups kept", f"the last {recovery.keep}"))
        if recovery.rpo:
            rows.append(("Recovery point objective", f"at most {recovery.rpo.in_words()} of data lost"))
        if recovery.rto:
            rows.append(("Recovery time objective", f"back in service within {recovery.rto.in_words()}"))
        w.add(table(["", "Plan"], [(esc(a), esc(b)) for a, b in rows]))
    return True


def _patterns(patterns: list[str]) -> str:
    out = []
    for pattern in patterns:
        words = pattern_words(pattern)
        out.append(code(pattern) + (f" — {esc(words)}" if words else ""))
    return bullets(out)


def _etiquette(p: Protocol, w: SectionWriter) -> bool:
    etiquette = p.etiquette
    if etiquette is None:
        return False
    w.author(etiquette.notes, "notes")
    w.add(promise("etiquette.reply_checks"))
    w.subsection("Professionalism")
    if etiquette.greeting:
        must = "must" if etiquette.greeting.required else "should"
        w.add(
            f"A reply {must} open with a greeting that matches one of:\n\n"
            + _patterns(etiquette.greeting.patterns)
        )
    if etiquette.closing:
        must = "must" if etiquette.closing.required else "should"
        w.add(f"A reply {must} close politely, matching one of:\n\n" + _patterns(etiquette.closing.patterns))
    rules = []
    if etiquette.use_customer_name:
        rules.append("Address the customer by name (when the desk knows their name).")
    if etiquette.max_words:
        rules.append(f"Keep a reply to at most {etiquette.max_words} words.")
    if etiquette.banned_phrases:
        rules.append("Never write " + join_words([quoted(x) for x in etiquette.banned_phrases], "or") + ".")
    if rules:
        w.add("In every reply:\n\n" + bullets(rules))
    if etiquette.empathy:
        empathy = etiquette.empathy
        w.subsection("Empathy and active listening", "empathy")
        words = join_words([quoted(x) for x in empathy.when.customer_phrases_any], "or")
        w.add(
            f"When the customer writes {words}, the reply must show that you understood, with one of:\n\n"
            + _patterns(empathy.patterns)
        )
    return True


# --------------------------------------------------------------------------- appendix, answer key


def _appendix(p: Protocol, w: SectionWriter) -> bool:
    if not p.glossary and not p.contacts:
        return False
    if p.glossary:
        w.subsection("Glossary")
        terms = sorted(p.glossary.items(), key=lambda item: item[0].lower())
        w.add(bullets(f"**{esc(term)}** — {inline(definition)}" for term, definition in terms), "glossary")
    if p.contacts:
        w.subsection("Contact information", "contacts")
        rows = [
            (f"**{esc(c.name)}**", esc(c.role or ""), _address(c.email), esc(c.phone or "", line_start=False))
            for c in p.contacts
        ]
        w.add(table(["Name", "Role", "Email", "Phone"], rows))
    return True


def _answer_key(p: Protocol, w: SectionWriter) -> bool:
    modules = [m for m in (p.training.modules if p.training else []) if m.quiz]
    if not modules:
        return False
    for module in modules:
        assert module.quiz is not None
        w.item(module.title, f"answers-{module.id}")
        answers = []
        for question in module.quiz.questions:
            index = question.answer
            if 0 <= index < len(question.choices):
                answers.append(f"{LETTERS[index]}) {inline(question.choices[index])}")
            else:
                answers.append("(no valid answer given)")
        w.add(bullets(answers, numbered=True), "answers")
    return True


_BUILDERS: list[tuple[str, Callable[[Protocol, SectionWriter], bool]]] = [
    ("introduction", _introduction),
    ("objectives", _objectives),
    ("team", _team),
    ("channels", _channels),
    ("sla", _sla),
    ("escalation", _escalation),
    ("resolution", _resolution),
    ("contingencies", _contingencies),
    ("refunds", _refunds),
    ("privacy", _privacy),
    ("training", _training),
    ("knowledge_base", _knowledge_base),
    ("surveys", _surveys),
    ("reporting", _reporting),
    ("emergency", _emergency),
    ("etiquette", _etiquette),
    ("appendix", _appendix),
    ("answer-key", _answer_key),
]
