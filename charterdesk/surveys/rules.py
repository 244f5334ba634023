"""What the desk decides about surveys, as plain functions of the protocol and a score."""

from __future__ import annotations

import datetime as dt

from charterdesk.protocol.models import Protocol

# How long after the first answer a customer may still change their rating (and add a comment).
CHANGE_WINDOW = dt.timedelta(days=7)


def scale(protocol: Protocol | None, kind: str) -> tuple[int, int]:
    """The lowest and highest score of a survey: CSAT 1 to ``surveys.csat.scale`` (5 when absent),
    NPS 0 to 10, CES 1 to 7 (specs/kpi-format.md)."""
    if kind == "nps":
        return 0, 10
    if kind == "ces":
        return 1, 7
    csat = protocol.surveys.csat if protocol is not None and protocol.surveys else None
    return 1, csat.scale if csat is not None else 5


def is_low(protocol: Protocol | None, kind: str, score: int) -> bool:
    """A rating a lead must read: CSAT in the lowest two ratings (1 or 2), an NPS detractor (0 to
    6), a CES of 5 or more (hard to get the problem solved)."""
    if kind == "csat":
        low, _ = scale(protocol, kind)
        return score <= low + 1
    if kind == "nps":
        return score <= 6
    return score >= 5


def question(protocol: Protocol | None, kind: str) -> str:
    section = getattr(protocol.surveys, kind, None) if protocol is not None and protocol.surveys else None
    if section is not None:
        return str(section.question)
    return {
        "csat": "How satisfied are you with the help you received?",
        "nps": "How likely are you to recommend us to a friend or colleague?",
        "ces": "How easy was it to get your problem solved?",
    }[kind]


def labels(protocol: Protocol | None, kind: str) -> dict[int, str]:
    """Words under the ends of the scale, for the mail and the pages."""
    low, high = scale(protocol, kind)
    words = {
        "csat": ("very unsatisfied", "very satisfied"),
        "nps": ("not at all likely", "extremely likely"),
        "ces": ("very easy", "very hard"),
    }[kind]
    return {low: words[0], high: words[1]}


def due_after_solve(protocol: Protocol | None) -> dict[str, dt.timedelta]:
    """The surveys a solve asks for and how long after the solve each is due. NPS has no delay of
    its own: it goes with the CSAT survey (else the CES survey, else at once)."""
    surveys = protocol.surveys if protocol is not None else None
    if surveys is None:
        return {}
    due: dict[str, dt.timedelta] = {}
    if surveys.csat is not None:
        due["csat"] = dt.timedelta(seconds=surveys.csat.send_after.seconds)
    if surveys.ces is not None:
        due["ces"] = dt.timedelta(seconds=surveys.ces.send_after.seconds)
    if surveys.nps is not None:
        due["nps"] = due.get("csat", due.get("ces", dt.timedelta(0)))
    return due


def nps_every(protocol: Protocol | None) -> dt.timedelta | None:
    nps = protocol.surveys.nps if protocol is not None and protocol.surveys else None
    return dt.timedelta(seconds=nps.every.seconds) if nps is not None else None
