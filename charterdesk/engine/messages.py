"""Message checks: one protocol's etiquette, contingencies and redaction, compiled once.

    checks = MessageChecks(protocol)                  # once per protocol version; reuse it
    reply = checks.check_reply(text, customer_name="Maria Lopez", last_customer_message="...")
    reply.etiquette.problems, reply.redaction.text, reply.redaction.findings
    message = checks.check_customer_message(text)
    message.contingencies, message.redaction.text

specs/message-checks.md is the contract; ``charterdesk messages check`` is this
module over a file of messages. Every path of the desk (the composer as the agent
types, the API, email ingestion) asks the same object. Etiquette and contingencies
read the text as given, before redaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from charterdesk.protocol import models

from .contingencies import ContingencyMatch, ContingencyRules
from .etiquette import EtiquetteResult, EtiquetteRules, Problem
from .redaction import Finding, Redaction, Redactor

__all__ = [
    "ContingencyMatch",
    "CustomerMessageCheck",
    "EtiquetteResult",
    "Finding",
    "MessageChecks",
    "Problem",
    "Redaction",
    "ReplyCheck",
]


@dataclass(frozen=True, slots=True)
class ReplyCheck:
    """A public agent reply, checked: ``etiquette`` is None when the protocol has no
    ``etiquette`` section; ``redaction`` is the reply as it will be stored and sent."""

    etiquette: EtiquetteResult | None
    redaction: Redaction

    @property
    def passed(self) -> bool:
        """Whether the reply may be sent without an override (secrets are masked, not refused)."""
        return self.etiquette is None or self.etiquette.passed


@dataclass(frozen=True, slots=True)
class CustomerMessageCheck:
    """A customer message, checked: the contingencies it calls for (protocol order) and
    the message as it will be stored."""

    contingencies: tuple[ContingencyMatch, ...]
    redaction: Redaction


class MessageChecks:
    """The message rules of one protocol version. Building one compiles every pattern and
    phrase; checking a message then costs only the searches."""

    __slots__ = ("contingencies", "etiquette", "redactor")

    def __init__(self, protocol: models.Protocol) -> None:
        self.etiquette = EtiquetteRules(protocol.etiquette) if protocol.etiquette is not None else None
        self.contingencies = ContingencyRules(protocol.contingencies)
        self.redactor = Redactor(protocol.privacy.redact if protocol.privacy is not None else ())

    def check_reply(
        self,
        text: str,
        *,
        customer_name: str | None = None,
        last_customer_message: str | None = None,
    ) -> ReplyCheck:
        """Etiquette problems and redaction findings of a public agent reply."""
        etiquette = (
            self.etiquette.check(
                text, customer_name=customer_name, last_customer_message=last_customer_message
            )
            if self.etiquette is not None
            else None
        )
        return ReplyCheck(etiquette, self.redactor.redact(text))

    def check_customer_message(self, text: str) -> CustomerMessageCheck:
        """The contingencies a customer message calls for, and its redaction."""
        return CustomerMessageCheck(self.contingencies.detect(text), self.redactor.redact(text))

    def redact(self, text: str) -> Redaction:
        """Only the redaction (an internal note, a subject line, an attachment's text)."""
        return self.redactor.redact(text)
