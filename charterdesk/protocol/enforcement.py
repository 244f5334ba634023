"""What the desk enforces of a protocol, and the test that proves each: the handbook's words follow it.

The handbook must not promise what the desk does not do. Each promise a section can make is a
``Promise`` in ``PROMISES``: the sentence for when the desk keeps it, and the plain sentence for when
people keep it by hand. ``ENFORCED`` lists the promises the desk keeps today, each with the test that
proves it (``tests/<app>/test_<file>.py::test_<name>``); ``tests/protocol/test_enforcement.py`` fails
when a named test does not exist. When a family lands its enforcement, it adds one line to
``ENFORCED`` and the handbook (web page, Markdown and PDF) says so from then on.

Pure: the renderer runs without Django, from the command line too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Promise:
    """One thing a handbook section says the desk does: ``does`` when it is enforced, ``by_hand`` when
    not (what people do instead). Both are Markdown sentences without inline markup."""

    section: str
    does: str
    by_hand: str


PROMISES: dict[str, Promise] = {
    "objectives.tracked": Promise(
        "objectives",
        "We measure ourselves against these goals; the desk's reports page marks each as met or missed "
        "for the period shown, and the reports in *Reporting and KPIs* track each one.",
        "We measure ourselves against these goals. The desk does not compute these KPIs yet: team leads "
        "work them out from the desk's tickets for each report.",
    ),
    "channels.acknowledge": Promise(
        "channels",
        "Where *Automatic receipt* is *Yes*, the customer gets an acknowledgement at once, "
        "with the response time we promise for the ticket.",
        "Where *Automatic receipt* is *Yes*, acknowledge the customer's first message at once by hand, "
        "with the response time we promise: the desk does not send receipts yet.",
    ),
    "sla.clocks": Promise(
        "sla",
        "The desk keeps these clocks on every ticket and shows how long is left.",
        "The desk does not keep these clocks yet: agents work out each ticket's due time themselves.",
    ),
    "escalation.rules": Promise(
        "escalation",
        "The desk watches every response-time target and acts on its own by these rules. Each rule "
        "fires at most once per target cycle; times count in the policy's business hours.",
        "The desk does not act on these rules yet: team leads watch the targets and carry out each "
        "rule by hand, at most once per target cycle.",
    ),
    "resolution.procedures": Promise(
        "resolution",
        "Procedures are step-by-step guides; the desk shows them on the tickets they fit.",
        "Procedures are step-by-step guides; the desk does not show them on tickets yet, so follow "
        "the one that fits from this handbook.",
    ),
    "resolution.auto_close": Promise(
        "resolution",
        "A solved ticket closes by itself {after} after it was solved; once closed it is final.",
        "Close a solved ticket by hand {after} after it was solved; once closed it is final.",
    ),
    "resolution.follow_up": Promise(
        "resolution",
        "{after} after a ticket is solved, the customer gets this message:",
        "{after} after a ticket is solved, send the customer this message (the desk does not send it yet):",
    ),
    "contingencies.detect": Promise(
        "contingencies",
        "When what a customer writes in a message (not the history it quotes) matches a plan, the desk "
        "shows the plan on the ticket and acts once per ticket.",
        "The desk does not recognise these situations in customers' messages yet: the agent who sees the "
        "signs follows the plan, and asks a team lead for what the desk would do.",
    ),
    "privacy.redact": Promise(
        "privacy",
        "The desk masks {what} in every message, inbound and outbound, before it is stored: in its text, "
        "its subject and its attachments' names, and in the email as received once it is processed.",
        "The desk does not mask {what} yet: never type them into a reply or note, and remove them from "
        "what customers send by editing it out or asking a team lead.",
    ),
    "privacy.customer_data": Promise(
        "privacy",
        "The desk shows a customer's email, phone and full name only to the roles under *Customer data*, "
        "on its pages, in its API and in its exports; others see a shortened name (Jo W.).",
        "The desk does not hide customers' contact details yet: only the roles under *Customer data* "
        "look them up or pass them on.",
    ),
    "surveys.sent": Promise(
        "surveys",
        "Every answer shows on its ticket and on the page of the agent assigned to it. A low rating "
        "({low}) notifies the ticket's assignee and everyone holding the role the assignee reports "
        "to{fallback}. Survey answers feed the KPIs in *Reporting and KPIs*.",
        "The desk does not send these surveys yet: they go out by hand, and team leads read every low "
        "rating.",
    ),
    "reporting.kpis": Promise(
        "reporting",
        "The desk computes each KPI below from its tickets, on its reports page and in the scheduled "
        "report mails.",
        "The desk does not compute these KPIs yet: team leads work them out from the tickets for each "
        "report.",
    ),
    "reporting.handle_time": Promise(
        "reporting",
        "Handle time is measured by the desk: the time agents have a ticket's page open, visible and in "
        "use (a key, a click or a scroll within the last minute), and the calls they log on it, up to "
        "its solve. A page left open stops counting after a minute.",
        "Handle time is not measured by the desk yet, so its figures stay empty.",
    ),
    "etiquette.reply_checks": Promise(
        "etiquette",
        "The desk checks every written public reply against the rules a reply must follow, as it is "
        "written and again when it is sent. A reply that breaks one is sent only by someone whose role "
        "may override the checks, with a reason that the audit log keeps.",
        "The desk does not check replies against these rules yet: each agent reads their reply against "
        "them before sending.",
    ),
}

# What the desk enforces today, each with the test that proves it. One line per promise kept.
ENFORCED: dict[str, str] = {
    "objectives.tracked": "tests/reports/test_page.py::test_the_managers_page_shows_what_charterdesk_kpi_computes_from_the_exported_events",  # noqa: E501 - one line per entry
    "reporting.kpis": "tests/reports/test_page.py::test_the_managers_page_shows_what_charterdesk_kpi_computes_from_the_exported_events",  # noqa: E501 - one line per entry
    "reporting.handle_time": "tests/reports/test_handle_time.py::test_the_reports_page_shows_handle_time_from_the_time_worked",  # noqa: E501 - one line per entry
    "contingencies.detect": "tests/checks/test_desk_checks.py::test_a_customer_message_puts_the_ticket_under_a_contingency_once",  # noqa: E501 - one line per entry
    "privacy.redact": "tests/checks/test_desk_checks.py::test_a_card_number_by_email_is_stored_nowhere_and_the_agent_sees_the_mask",  # noqa: E501 - one line per entry
    "privacy.customer_data": "tests/api/test_customer_data.py::test_every_api_answer_with_a_customer_follows_the_one_rule",  # noqa: E501 - one line per entry
    "surveys.sent": "tests/surveys/test_surveys.py::test_csat_is_sent_an_hour_after_the_solve_by_the_worker",
    "etiquette.reply_checks": "tests/checks/test_desk_checks.py::test_a_refused_send_keeps_the_text_and_lists_the_problems_at_the_composer",  # noqa: E501 - one line per entry
    "channels.acknowledge": "tests/channels/test_email_outbound.py::test_the_receipt_states_the_promise_in_the_customers_time_zone",  # noqa: E501 - one line per entry
    "sla.clocks": "tests/tickets/test_live_sla.py::test_a_ticket_worked_live_replays_to_the_same_clocks",
    "escalation.rules": "tests/tickets/test_live_sla.py::test_escalations_fire_once_notify_the_lead_and_name_the_rule",  # noqa: E501 - one line per entry
    "resolution.procedures": "tests/tickets/test_workspace.py::test_a_required_procedure_blocks_solving_until_its_steps_are_ticked",  # noqa: E501 - one line per entry
    "resolution.auto_close": "tests/worker/test_worker.py::test_a_solved_ticket_closes_automatically_after_four_days_and_not_before",  # noqa: E501 - one line per entry
    "resolution.follow_up": "tests/worker/test_worker.py::test_the_follow_up_is_sent_once_two_days_after_solve",  # noqa: E501 - one line per entry
}


def enforced(promise: str) -> bool:
    """Whether the desk keeps ``promise`` (a key of PROMISES) today."""
    if promise not in PROMISES:
        raise KeyError(f"'{promise}' is not a promise of the handbook; the promises are in PROMISES")
    return promise in ENFORCED


def words(promise: str, **values: str) -> str:
    """The handbook's sentence for ``promise``, as the desk keeps it or as people keep it by hand."""
    chosen = PROMISES[promise].does if enforced(promise) else PROMISES[promise].by_hand
    return chosen.format(**values) if values else chosen
