"""Redaction: the secrets in a message, masked before anything is stored (``privacy.redact``).

    redactor = Redactor(protocol.privacy.redact)     # once per protocol version
    result = redactor.redact(text)
    result.text                                       # "the card [card ending 4242] was charged"
    [(f.detector, f.start, f.end) for f in result.findings]

Detectors (``DETECTORS``, in the table order of specs/message-checks.md, which also
breaks ties between findings that start at the same place and are as long):

- ``payment_card``: a run of digits, neighbours separated by nothing or one space or
  hyphen, not touching a letter; 13 to 19 digits starting 2-6 that pass the Luhn check.
- ``iban``: two capitals, two digits, then 11-30 capitals or digits written together, or
  2-7 space-separated groups of four and an optional last group of one to three; not
  touching a letter or digit; valid for python-stdnum's ``iban.is_valid``.
- ``national_id``: a US Social Security number, ``NNN-NN-NNNN`` or ``NNN NN NNNN``, with an
  area other than 000, 666, 900-999, a group other than 00, a serial other than 0000.
- ``password``: the token after ``password:`` / ``pwd=`` / ``passcode is ...`` (see
  ``_passwords``).
- ``email_address``, ``phone_number``: the project's own (docs/message-checks.md).

Each candidate is tested whole, never cut down to a shorter piece that would pass. The
findings are sorted by start, then longer first, then detector order, and a finding that
overlaps one already kept is dropped. A finding holds where it was and what replaced it,
never the secret itself: a card keeps only its last four digits, in its mask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from stdnum import iban as stdnum_iban
from stdnum import luhn

from charterdesk.protocol.models import REDACTORS

__all__ = ["DETECTORS", "DETECTOR_WORDS", "Finding", "Redaction", "Redactor"]

DETECTORS: tuple[str, ...] = REDACTORS
"""Every detector, in the order that breaks ties between equal findings."""

DETECTOR_WORDS = {
    "payment_card": "a card number",
    "iban": "a bank account number (IBAN)",
    "national_id": "a Social Security number",
    "password": "a password",
    "email_address": "an email address",
    "phone_number": "a phone number",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret found by ``detector`` at ``text[start:end]`` (code points, end exclusive),
    replaced by ``mask``. ``clause`` is the ``privacy.redact`` entry that asked for it."""

    detector: str
    start: int
    end: int
    mask: str
    clause: str

    @property
    def detail(self) -> str:
        """The desk's sentence: ``a card number will be shown as [card ending 4242]``."""
        return f"{DETECTOR_WORDS[self.detector]} will be shown as {self.mask}"


@dataclass(frozen=True, slots=True)
class Redaction:
    """A message with its secrets masked (``text``) and what was found, ordered by start."""

    text: str
    findings: tuple[Finding, ...]


# A candidate: (start, end, mask).
_Candidate = tuple[int, int, str]

# ----------------------------------------------------------------------------- payment_card

# Possessive, so that a run is always taken whole: never a shorter run inside a longer one.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9])*+")


def _cards(text: str) -> Iterator[_Candidate]:
    for run in _DIGIT_RUN.finditer(text):
        start, end = run.span()
        if end - start < 13:  # fewer characters than the fewest digits a card has
            continue
        digits = run.group().replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
            continue
        if (start and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha()):
            continue
        if luhn.is_valid(digits):
            yield start, end, f"[card ending {digits[-4:]}]"


# ----------------------------------------------------------------------------- iban

# The regular expressions below leave out the spec's "not directly preceded by a letter or digit"
# (a look-behind at the start of a pattern makes the search try it at every character, three times
# slower); the finders check the character before each match instead. No start the check would
# accept can lie inside a match that finditer has already passed over, since every character of
# such a match but a separator is a letter or a digit.
_IBAN_START = re.compile(r"[A-Z]{2}[0-9]{2}")
# Both forms are greedy: the longest stretch from a start is the one tested.
_IBAN_REST = re.compile(r"[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?")


def _ibans(text: str) -> Iterator[_Candidate]:
    for head in _IBAN_START.finditer(text):
        start = head.start()
        if start and text[start - 1].isalnum():
            continue
        rest = _IBAN_REST.match(text, head.end())
        if rest is None:
            continue
        end = rest.end()
        if end < len(text) and text[end].isalnum():
            continue
        number = text[start:end].replace(" ", "")
        if stdnum_iban.is_valid(number):
            yield start, end, f"[IBAN ending {number[-4:]}]"


# ----------------------------------------------------------------------------- national_id

# [^\W_] is "a letter or a digit" in any script (str.isalnum).
_SSN = re.compile(r"([0-9]{3})([- ])([0-9]{2})\2([0-9]{4})(?![^\W_])")


def _national_ids(text: str) -> Iterator[_Candidate]:
    for match in _SSN.finditer(text):
        if match.start() and text[match.start() - 1].isalnum():
            continue
        area, _, group, serial = match.groups()
        if area == "000" or area == "666" or area[0] == "9" or group == "00" or serial == "0000":
            continue
        yield match.start(), match.end(), "[national ID]"


# ----------------------------------------------------------------------------- password

_PASSWORD_WORD = re.compile(r"pass(?:word|code|wd)|pwd", re.IGNORECASE)
_ASSIGNED = re.compile(r"[ \t]*[:=][ \t]*(\S+)")
_SAID = re.compile(r"[ \t]+is[ \t]+(\S+)", re.IGNORECASE)


def _passwords(text: str) -> Iterator[_Candidate]:
    """``password: TOKEN`` / ``pwd=TOKEN`` (any token), or ``password is TOKEN`` when the
    token holds something other than letters (so "the password is wrong" is left alone,
    "the password is hunter2" is not). Every keyword is tried, also one inside another's token."""
    for word in _PASSWORD_WORD.finditer(text):
        if word.start() and text[word.start() - 1].isalnum():
            continue
        assigned = _ASSIGNED.match(text, word.end())
        if assigned is not None:
            yield assigned.start(1), assigned.end(1), "[password]"
            continue
        said = _SAID.match(text, word.end())
        if said is not None and not said.group(1).isalpha():
            yield said.start(1), said.end(1), "[password]"


# ----------------------------------------------------------------------------- email_address

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~@-])"  # the whole local part, not its tail
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}"
    r"(?![\w@-]|\.[^\W_])"
)


def _emails(text: str) -> Iterator[_Candidate]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), "[email]"


# ----------------------------------------------------------------------------- phone_number

_PHONE = re.compile(
    r"(?<![\w+])(?<![0-9][ .:/-])"  # a number's beginning, not a piece of a longer one
    r"(\+[0-9]{1,3}[ .-]?)?"  # an international prefix
    r"(?:\([0-9]{1,5}\)[ .-]?)?"  # an area code in parentheses
    r"[0-9]++(?:[ .-][0-9]++)*+"
    r"(?![\w+]|[:/][0-9])"  # ... and its end: 12:30 and 01/05 are times and dates
)
_DIGIT_GROUP = re.compile(r"[0-9]+")


def _phones(text: str) -> Iterator[_Candidate]:
    for match in _PHONE.finditer(text):
        groups = _DIGIT_GROUP.findall(match.group())
        digits = sum(map(len, groups))
        # Without a +, a date (2026-05-01) or an order number (2026-123456) is likelier than a
        # phone number unless the digits are many and grouped as phone numbers are.
        international = match.group(1) is not None
        if (8 <= digits <= 15) if international else (10 <= digits <= 11 and len(groups) >= 3):
            yield match.start(), match.end(), "[phone]"


_FINDERS = {
    "payment_card": _cards,
    "iban": _ibans,
    "national_id": _national_ids,
    "password": _passwords,
    "email_address": _emails,
    "phone_number": _phones,
}


class Redactor:
    """The detectors a protocol lists under ``privacy.redact``, ready to mask any text."""

    __slots__ = ("_clauses", "_finders", "detectors")

    def __init__(self, detectors: Iterable[str]) -> None:
        listed = list(detectors)
        for name in listed:
            if name not in _FINDERS:
                raise ValueError(f"'{name}' is not a redaction detector; use one of {', '.join(DETECTORS)}")
        # Table order, whatever the protocol's order: ties between findings depend on it.
        self.detectors = tuple(name for name in DETECTORS if name in listed)
        self._finders = tuple((order, _FINDERS[name]) for order, name in enumerate(self.detectors))
        self._clauses = tuple((name, f"privacy.redact[{listed.index(name)}]") for name in self.detectors)

    def redact(self, text: str) -> Redaction:
        """``text`` with every secret masked, and the findings ordered by start."""
        candidates: list[tuple[int, int, int, str]] = []
        for order, finder in self._finders:
            for start, end, mask in finder(text):
                # Sorted by start, then longer first, then detector order.
                candidates.append((start, start - end, order, mask))
        if not candidates:
            return Redaction(text, ())
        candidates.sort()
        findings: list[Finding] = []
        pieces: list[str] = []
        reach = 0  # the end of the last finding kept; findings kept never overlap
        for start, negative_length, order, mask in candidates:
            if start < reach:
                continue
            end = start - negative_length
            name, clause = self._clauses[order]
            findings.append(Finding(name, start, end, mask, clause))
            pieces.append(text[reach:start])
            pieces.append(mask)
            reach = end
        pieces.append(text[reach:])
        return Redaction("".join(pieces), tuple(findings))
