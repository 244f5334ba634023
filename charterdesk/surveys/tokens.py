"""Signed links in survey mail: one per rating, one for the answer page, one to opt out.

Each token is signed with the desk's SECRET_KEY and a salt of its own purpose, so a rating token
cannot be used as an opt-out token or the other way round, and an edited token is refused. They
carry no expiry of their own: what a token may still do is decided from the rows (the change
window runs from the first answer, an opt-out is forever).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

_RATE = "charterdesk.surveys.rate"
_ANSWER = "charterdesk.surveys.answer"
_OPT_OUT = "charterdesk.surveys.opt-out"


class BadToken(Exception):
    """The link was edited, cut short or made for another purpose."""


@dataclass(frozen=True)
class Rating:
    invitation_id: int
    score: int


def rating_token(invitation_id: int, score: int) -> str:
    return signing.dumps([invitation_id, score], salt=_RATE, compress=False)


def read_rating(token: str) -> Rating:
    try:
        invitation_id, score = signing.loads(token, salt=_RATE)
        return Rating(int(invitation_id), int(score))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadToken("this survey link is not valid") from exc


def answer_token(invitation_id: int) -> str:
    return signing.dumps(invitation_id, salt=_ANSWER)


def read_answer(token: str) -> int:
    try:
        return int(signing.loads(token, salt=_ANSWER))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadToken("this survey link is not valid") from exc


def opt_out_token(customer_id: int) -> str:
    return signing.dumps(customer_id, salt=_OPT_OUT)


def read_opt_out(token: str) -> int:
    try:
        return int(signing.loads(token, salt=_OPT_OUT))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadToken("this opt-out link is not valid") from exc
