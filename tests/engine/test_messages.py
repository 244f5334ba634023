# ruff: noqa: E501 - each case is one message and its whole expected output, kept on a line where it fits
"""Message checks, case by case: each message with its exact output, worked out by hand.

The cases follow specs/message-checks.md rule by rule (etiquette checks in order,
contingency detection, each redaction detector, overlaps). Each is one input line
of `charterdesk messages check` and the output object the command gives for it,
except ``detail`` (the desk's own sentence, outside the contract), which is
checked only to be there. Offsets are in code points, ``end`` exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from charterdesk.engine.messages import MessageChecks
from charterdesk.messages_command import Message, check_message
from charterdesk.protocol.load import load_protocol

BASE = """
format: 1
company: Test
title: Test
version: "1"
introduction: {purpose: p, scope: s}
team:
  roles: [{id: lead, title: Lead}]
calendars:
  - {id: always, hours: 24x7}
channels:
  customer: [{id: email, kind: email}]
sla:
  policies:
    - {id: standard, match: {}, calendar: always, targets: {first_response: 4h}}
"""

# The spec's example etiquette (with a whitespace run in one banned phrase, and a short
# max_words), three plans, and the four contract detectors listed out of table order.
PROTOCOL = (
    BASE
    + r"""
etiquette:
  greeting: {required: true, patterns: ["^(hi|hello|dear)\\b"]}
  closing: {required: true, patterns: ["(regards|thanks|best),?\\s*$"]}
  use_customer_name: true
  banned_phrases: ["calm down", "not my problem", "as I  already\nsaid"]
  empathy:
    when: {customer_phrases_any: [frustrated, "fed up", angry]}
    patterns: ["sorry", "understand", "apologi[sz]e"]
  max_words: 25
contingencies:
  - id: aggressive-customer
    title: Aggressive customer
    detect: {phrases_any: [lawyer, "sue you", useless], shouting: true}
    steps: [Stay calm]
  - id: injury-report
    title: Injury
    detect: {phrases_any: [injured, hospital, "I'm hurt"]}
    steps: [Ask whether they are safe]
  - id: loud
    title: Shouting
    detect: {shouting: true}
    steps: [Answer calmly]
privacy:
  redact: [password, national_id, iban, payment_card]
"""
)

# No etiquette, no contingencies, no privacy section.
BARE = BASE

# The project's own detectors beside cards.
OWN_DETECTORS = BASE + "privacy:\n  redact: [phone_number, email_address, payment_card]\n"


@dataclass(frozen=True)
class Case:
    behaviour: str
    line: dict[str, Any]
    expected: dict[str, Any]
    protocol: str = "main"
    marks: tuple[Any, ...] = field(default=())


def passed() -> dict[str, Any]:
    return {"passed": True, "problems": []}


def failed(*problems: str | tuple[str, str]) -> dict[str, Any]:
    """Problems as check names, or (banned_phrase, phrase)."""
    items = [{"check": p} if isinstance(p, str) else {"check": p[0], "phrase": p[1]} for p in problems]
    return {"passed": False, "problems": items}


def reply(text: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "reply", "text": text, "customer_name": "Maria Lopez", **extra}


def customer(text: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "customer", "text": text, **extra}


def out(
    text: str,
    *,
    etiquette: dict[str, Any] | None = None,
    contingencies: list[str] | None = None,
    redacted: str | None = None,
    findings: list[tuple[str, int, int]] | None = None,
) -> dict[str, Any]:
    return {
        "etiquette": etiquette,
        "contingencies": contingencies or [],
        "redacted": text if redacted is None else redacted,
        "findings": [{"detector": d, "start": s, "end": e} for d, s, e in findings or []],
    }


def clean_reply(text: str, etiquette: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return reply(text), out(text, etiquette=etiquette)


def secret(
    text: str, redacted: str, *findings: tuple[str, int, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer message with no contingency, and what redaction makes of it."""
    return customer(text), out(text, redacted=redacted, findings=list(findings))


def none_found(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return customer(text), out(text)


OK = "Hi Maria, your tent ships today.\nBest regards"
WORDS_25 = "Hi Maria, " + " ".join(["word"] * 22) + " Thanks"
WORDS_26 = "Hi Maria, " + " ".join(["word"] * 23) + " Thanks"

CASES = [
    # ------------------------------------------------------------------ etiquette: greeting, closing
    Case("A reply with greeting, name and closing passes every check.", *clean_reply(OK, passed())),
    Case(
        "No greeting at the start is a greeting problem.",
        *clean_reply("Maria, your tent ships today. Thanks", failed("greeting")),
    ),
    Case(
        "Whitespace around the reply is removed before the patterns are searched.",
        *clean_reply("  \n Hello Maria, it ships today. Regards  \n\n", passed()),
    ),
    Case(
        "A greeting pattern ending in \\b does not accept 'Hillary' as 'Hi'.",
        *clean_reply("Hillary here, Maria. Thanks", failed("greeting")),
    ),
    Case("Patterns ignore case.", *clean_reply("HELLO MARIA, IT SHIPS TODAY. BEST", passed())),
    Case(
        "No closing at the end is a closing problem.",
        *clean_reply("Hi Maria, your tent ships today.", failed("closing")),
    ),
    Case(
        "A signature after the closing word fails a closing pattern anchored at the end.",
        *clean_reply("Hi Maria, ok.\nBest regards,\nAlex", failed("closing")),
    ),
    Case(
        "A comma and trailing blank lines after the closing word are fine.",
        *clean_reply("Hi Maria, ok. Thanks,   \n\n", passed()),
    ),
    Case(
        "Greeting and closing both missing: greeting first.",
        *clean_reply("Your tent ships today, Maria.", failed("greeting", "closing")),
    ),
    # ------------------------------------------------------------------ etiquette: the customer's name
    Case(
        "A reply that never names the customer fails customer_name.",
        *clean_reply("Hi there, your tent ships today. Thanks", failed("customer_name")),
    ),
    Case("The name is found ignoring case.", *clean_reply("hi maria, ok. thanks", passed())),
    Case(
        "The first name inside a longer word is not the name.",
        *clean_reply("Hi Mariana, ok. Thanks", failed("customer_name")),
    ),
    Case(
        "The last name alone is not enough: the check looks for the first name.",
        *clean_reply("Hi Ms Lopez, ok. Thanks", failed("customer_name")),
    ),
    Case(
        "No customer_name: the name check is skipped.",
        {"kind": "reply", "text": "Hi there, ok. Thanks"},
        out("Hi there, ok. Thanks", etiquette=passed()),
    ),
    Case(
        "A null customer_name skips the name check.",
        {"kind": "reply", "text": "Hi there, ok. Thanks", "customer_name": None},
        out("Hi there, ok. Thanks", etiquette=passed()),
    ),
    Case(
        "A blank customer_name skips the name check.",
        {"kind": "reply", "text": "Hi there, ok. Thanks", "customer_name": " \t "},
        out("Hi there, ok. Thanks", etiquette=passed()),
    ),
    Case(
        "Blanks around and inside customer_name: the first name is its first word.",
        {"kind": "reply", "text": "Hi Maria, ok. Thanks", "customer_name": "  Maria \t Lopez "},
        out("Hi Maria, ok. Thanks", etiquette=passed()),
    ),
    Case(
        "A non-ASCII first name is found as written.",
        {"kind": "reply", "text": "Hi José, ok. Thanks", "customer_name": "José Álvarez"},
        out("Hi José, ok. Thanks", etiquette=passed()),
    ),
    Case(
        "A name without its accent is another name.",
        {"kind": "reply", "text": "Hi Jose, ok. Thanks", "customer_name": "José Álvarez"},
        out("Hi Jose, ok. Thanks", etiquette=failed("customer_name")),
    ),
    Case(
        "Case is ignored in every script: ZOË is Zoë.",
        {"kind": "reply", "text": "Hi ZOË, ok. Thanks", "customer_name": "Zoë"},
        out("Hi ZOË, ok. Thanks", etiquette=passed()),
    ),
    # ------------------------------------------------------------------ etiquette: banned phrases
    Case(
        "A banned phrase is a problem naming the phrase.",
        *clean_reply("Hi Maria, please calm down. Thanks", failed(("banned_phrase", "calm down"))),
    ),
    Case(
        "A run of whitespace in the reply counts as one space.",
        *clean_reply("Hi Maria, please calm\n\t down. Thanks", failed(("banned_phrase", "calm down"))),
    ),
    Case(
        "Banned phrases are found ignoring case.",
        *clean_reply("Hi Maria, CALM DOWN. Thanks", failed(("banned_phrase", "calm down"))),
    ),
    Case(
        "A phrase continued by letters is not the phrase ('calm downstairs').",
        *clean_reply("Hi Maria, stay calm downstairs. Thanks", passed()),
    ),
    Case(
        "A phrase preceded by a letter is not the phrase ('becalm down').",
        *clean_reply("Hi Maria, becalm down. Thanks", passed()),
    ),
    Case(
        "A phrase followed by a digit is not the phrase.",
        *clean_reply("Hi Maria, calm down2 is a song. Thanks", passed()),
    ),
    Case(
        "An underscore is neither letter nor digit: 'calm down_now' holds the phrase.",
        *clean_reply("Hi Maria, calm down_now. Thanks", failed(("banned_phrase", "calm down"))),
    ),
    Case(
        "A whitespace run in the protocol's phrase counts as one space too; the phrase is reported as written.",
        *clean_reply(
            "Hi Maria, as I already said, no. Thanks", failed(("banned_phrase", "as I  already\nsaid"))
        ),
    ),
    Case(
        "Several banned phrases: one problem each, in protocol order, not text order.",
        *clean_reply(
            "Hi Maria, not my problem, calm down. Thanks",
            failed(("banned_phrase", "calm down"), ("banned_phrase", "not my problem")),
        ),
    ),
    Case(
        "A banned phrase written twice is one problem.",
        *clean_reply("Hi Maria, calm down, calm down. Thanks", failed(("banned_phrase", "calm down"))),
    ),
    # ------------------------------------------------------------------ etiquette: empathy
    Case(
        "The customer was frustrated and the reply understands: passes.",
        reply("Hi Maria, I understand. Thanks", last_customer_message="I am frustrated!"),
        out("Hi Maria, I understand. Thanks", etiquette=passed()),
    ),
    Case(
        "The customer was angry and the reply shows no empathy: an empathy problem.",
        reply("Hi Maria, here is the label. Thanks", last_customer_message="I'm so ANGRY"),
        out("Hi Maria, here is the label. Thanks", etiquette=failed("empathy")),
    ),
    Case(
        "A trigger phrase across a line break in the customer's message still counts.",
        reply("Hi Maria, here is the label. Thanks", last_customer_message="I'm fed\nup with this"),
        out("Hi Maria, here is the label. Thanks", etiquette=failed("empathy")),
    ),
    Case(
        "A trigger inside a longer word ('unfrustrated') asks for nothing.",
        reply("Hi Maria, here is the label. Thanks", last_customer_message="I am unfrustrated today"),
        out("Hi Maria, here is the label. Thanks", etiquette=passed()),
    ),
    Case(
        "Without last_customer_message the empathy check is skipped.",
        *clean_reply("Hi Maria, here is the label. Thanks", passed()),
    ),
    Case(
        "Empathy patterns are patterns, not phrases: 'misunderstand' matches 'understand'.",
        reply("Hi Maria, a misunderstanding. Thanks", last_customer_message="angry"),
        out("Hi Maria, a misunderstanding. Thanks", etiquette=passed()),
    ),
    Case(
        "'apologize' matches apologi[sz]e.",
        reply("Hi Maria, we apologize. Thanks", last_customer_message="so angry"),
        out("Hi Maria, we apologize. Thanks", etiquette=passed()),
    ),
    # ------------------------------------------------------------------ etiquette: length, order, no section
    Case("Exactly max_words words passes.", *clean_reply(WORDS_25, passed())),
    Case("One word over max_words is a max_words problem.", *clean_reply(WORDS_26, failed("max_words"))),
    Case(
        "Words are runs of non-whitespace: a no-break space separates words too.",
        *clean_reply(WORDS_25.replace("Hi Maria,", "Hi\u00a0Maria,\u00a0ok"), failed("max_words")),
    ),
    Case(
        "Every check failing at once: problems in the order of the checks.",
        reply(
            "please calm down, " + " ".join(["word"] * 30),
            customer_name="Maria",
            last_customer_message="I am angry",
        ),
        out(
            "please calm down, " + " ".join(["word"] * 30),
            etiquette=failed(
                "greeting", "closing", "customer_name", ("banned_phrase", "calm down"), "empathy", "max_words"
            ),
        ),
    ),
    Case(
        "An empty reply has no greeting, no closing and no name.",
        *clean_reply("", failed("greeting", "closing", "customer_name")),
    ),
    Case(
        "A protocol without etiquette: a reply's etiquette is null.",
        reply("whatever, calm down"),
        out("whatever, calm down"),
        protocol="bare",
    ),
    Case(
        "A reply is not read for contingencies.",
        *clean_reply("Hi Maria, my lawyer, who is useless, is injured. Thanks", passed()),
    ),
    Case(
        "The spec's example: closing and banned phrase, the card masked.",
        reply("Hi Maria, the card 4242 4242 4242 4242 was charged. Calm down."),
        out(
            "Hi Maria, the card 4242 4242 4242 4242 was charged. Calm down.",
            etiquette=failed("closing", ("banned_phrase", "calm down")),
            redacted="Hi Maria, the card [card ending 4242] was charged. Calm down.",
            findings=[("payment_card", 19, 38)],
        ),
    ),
    # ------------------------------------------------------------------ contingencies
    Case(
        "A calm message matches no contingency; a customer message has null etiquette.",
        *none_found("Where is my order? It was due Tuesday."),
    ),
    Case(
        "A trigger phrase matches its contingency.",
        customer("I will call my lawyer."),
        out("I will call my lawyer.", contingencies=["aggressive-customer"]),
    ),
    Case(
        "A trigger phrase inside a longer word does not ('lawyers').",
        *none_found("Lawyers say this is fine."),
    ),
    Case(
        "A two-word trigger across a line break matches.",
        customer("I will sue\nyou"),
        out("I will sue\nyou", contingencies=["aggressive-customer"]),
    ),
    Case(
        "A trigger with an apostrophe, written with two spaces, matches.",
        customer("Help, I'm  hurt"),
        out("Help, I'm  hurt", contingencies=["injury-report"]),
    ),
    Case(
        "Several contingencies are listed in protocol order.",
        customer("I was injured and my lawyer knows."),
        out("I was injured and my lawyer knows.", contingencies=["aggressive-customer", "injury-report"]),
    ),
    Case(
        "A message in capitals is shouting: every plan with shouting: true matches.",
        customer("WHERE IS MY ORDER I HAVE BEEN WAITING"),
        out("WHERE IS MY ORDER I HAVE BEEN WAITING", contingencies=["aggressive-customer", "loud"]),
    ),
    Case(
        "Exactly 70% capitals of 20 cased letters is shouting.",
        customer("ABCDEFGHIJKLMN abcdef"),
        out("ABCDEFGHIJKLMN abcdef", contingencies=["aggressive-customer", "loud"]),
    ),
    Case("65% capitals is not shouting.", *none_found("ABCDEFGHIJKLM abcdefg")),
    Case("Nineteen capitals are too few to be shouting.", *none_found("ABCDEFGHIJKLMNOPQRS!!!")),
    Case(
        "Digits and punctuation are not counted as cased characters.",
        *none_found("ORDER 12345 12345 12345 NOW!!!"),
    ),
    Case(
        "Non-ASCII capitals count as capitals.",
        customer("ÇA NE MARCHE PAS DU TOUT ÉNERVÉ"),
        out("ÇA NE MARCHE PAS DU TOUT ÉNERVÉ", contingencies=["aggressive-customer", "loud"]),
    ),
    Case(
        "A protocol without contingencies or privacy: nothing is detected or masked.",
        customer("I WILL SUE YOU, CARD 4242 4242 4242 4242"),
        out("I WILL SUE YOU, CARD 4242 4242 4242 4242"),
        protocol="bare",
    ),
    # ------------------------------------------------------------------ payment_card
    Case(
        "A card written in groups of four with spaces is masked with its last four digits.",
        *secret("Card 4242 4242 4242 4242 please", "Card [card ending 4242] please", ("payment_card", 5, 24)),
    ),
    Case(
        "Hyphens between the groups.",
        *secret("4242-4242-4242-4242", "[card ending 4242]", ("payment_card", 0, 19)),
    ),
    Case(
        "Written together, after a colon and before a full stop.",
        *secret("card:4111111111111111.", "card:[card ending 1111].", ("payment_card", 5, 21)),
    ),
    Case(
        "Spaces and hyphens may be mixed, and the groups need not be of four.",
        *secret("use 42 424242-42424 242 now", "use [card ending 4242] now", ("payment_card", 4, 23)),
    ),
    Case("Two spaces end a run: neither piece is a card.", *none_found("4242  4242 4242 4242")),
    Case("A number failing the Luhn check is not a card.", *none_found("Card 4242 4242 4242 4241")),
    Case(
        "13 digits (the shortest card) passing Luhn.",
        *secret("Visa 4222222222222 ok", "Visa [card ending 2222] ok", ("payment_card", 5, 18)),
    ),
    Case(
        "19 digits (the longest card) passing Luhn.",
        *secret("long 4242 4242 4242 4242 428 ok", "long [card ending 2428] ok", ("payment_card", 5, 28)),
    ),
    Case(
        "20 digits are tested whole and never split, though the first 16 are a card.",
        *none_found("4242 4242 4242 4242 4242"),
    ),
    Case(
        "A 15-digit card starting with 3 in 4-6-5 groups.",
        *secret("amex 3782 822463 10005", "amex [card ending 0005]", ("payment_card", 5, 22)),
    ),
    Case("A Luhn-valid number starting with 1 is not a card.", *none_found("ref 1234567890123452")),
    Case("A run preceded by a letter is not a card.", *none_found("ref4242424242424242")),
    Case("A run followed by a letter is not a card.", *none_found("4242424242424242x")),
    Case("A non-ASCII letter counts as a letter.", *none_found("é4242424242424242")),
    Case(
        "An underscore is not a letter.",
        *secret("_4242424242424242", "_[card ending 4242]", ("payment_card", 1, 17)),
    ),
    Case(
        "A hyphen after the last digit is not part of the run.",
        *secret("4242424242424242-abc", "[card ending 4242]-abc", ("payment_card", 0, 16)),
    ),
    Case(
        "Offsets count code points: an emoji is one.",
        *secret("😀 4242424242424242", "😀 [card ending 4242]", ("payment_card", 2, 18)),
    ),
    Case(
        "Offsets count code points: ë is one.",
        *secret(
            "Zoë paid with 4242424242424242", "Zoë paid with [card ending 4242]", ("payment_card", 14, 30)
        ),
    ),
    # ------------------------------------------------------------------ iban
    Case(
        "A German IBAN written together.",
        *secret("IBAN DE89370400440532013000", "IBAN [IBAN ending 3000]", ("iban", 5, 27)),
    ),
    Case(
        "A British IBAN in groups of four, with letters in the bank code.",
        *secret("to GB82 WEST 1234 5698 7654 32, thanks", "to [IBAN ending 5432], thanks", ("iban", 3, 30)),
    ),
    Case(
        "A French IBAN: six groups of four and a last group of three.",
        *secret("FR14 2004 1010 0505 0001 3M02 606", "[IBAN ending 2606]", ("iban", 0, 33)),
    ),
    Case(
        "A Dutch IBAN with a last group of two, before a full stop.",
        *secret("My IBAN is NL91 ABNA 0417 1643 00.", "My IBAN is [IBAN ending 4300].", ("iban", 11, 33)),
    ),
    Case(
        "A Swiss IBAN written together, after a code that is not one.",
        *secret(
            "Ref AB12 CD34, pay CH9300762011623852957",
            "Ref AB12 CD34, pay [IBAN ending 2957]",
            ("iban", 19, 40),
        ),
    ),
    Case(
        "A wrong check digit: not an IBAN (and its digits are no card).",
        *none_found("DE88 3704 0044 0532 0130 00"),
    ),
    Case("Preceded by a letter: not an IBAN.", *none_found("XDE89370400440532013000")),
    Case(
        "Followed by a digit, the stretch is tested whole: not an IBAN.",
        *none_found("DE893704004405320130001"),
    ),
    Case("Lower-case letters are not an IBAN's capitals.", *none_found("de89 3704 0044 0532 0130 00")),
    Case("A last group followed by letters: not an IBAN.", *none_found("GB82 WEST 1234 5698 7654 32abc")),
    Case(
        "A stretch from an earlier start fails whole; the IBAN starting inside it is still found.",
        *secret("AB12 DE89 3704 0044 0532 0130 00", "AB12 [IBAN ending 3000]", ("iban", 5, 32)),
    ),
    # ------------------------------------------------------------------ national_id
    Case(
        "A Social Security number with hyphens.",
        *secret("SSN 123-45-6789.", "SSN [national ID].", ("national_id", 4, 15)),
    ),
    Case(
        "A Social Security number with spaces.",
        *secret("ssn: 123 45 6789", "ssn: [national ID]", ("national_id", 5, 16)),
    ),
    Case("Mixed separators are not a Social Security number.", *none_found("123-45 6789")),
    Case(
        "Area 000, 666 or 900-999, group 00 and serial 0000 are never issued; 899 is.",
        *secret(
            "666-12-3456, 900-12-3456, 000-12-3456, 123-00-4567, 123-45-0000 and 899-12-3456",
            "666-12-3456, 900-12-3456, 000-12-3456, 123-00-4567, 123-45-0000 and [national ID]",
            ("national_id", 68, 79),
        ),
    ),
    Case(
        "Touching a letter or a digit: not a Social Security number.",
        *none_found("A123-45-6789 and 123-45-67890"),
    ),
    # ------------------------------------------------------------------ password
    Case(
        "password: and a token: the token is masked.",
        *secret("password: hunter2", "password: [password]", ("password", 10, 17)),
    ),
    Case(
        "= works like :, in any case, and a letters-only token counts.",
        *secret("Password=abc", "Password=[password]", ("password", 9, 12)),
    ),
    Case(
        "Spaces before the colon; punctuation at the token's end belongs to it.",
        *secret("pwd :  s3cr3t!", "pwd :  [password]", ("password", 7, 14)),
    ),
    Case(
        "Tabs around = and a one-character token.",
        *secret("passwd\t=\tx y", "passwd\t=\t[password] y", ("password", 9, 10)),
    ),
    Case(
        "passcode is, then a token with a digit.",
        *secret("The passcode is 4812, ok", "The passcode is [password] ok", ("password", 16, 21)),
    ),
    Case("'is' and a word of letters only is not a password.", *none_found("my password is wrong")),
    Case(
        "'is' and a word with a full stop is a password token: the rule is literal.",
        *secret("my password is wrong.", "my password is [password]", ("password", 15, 21)),
    ),
    Case(
        "The words and 'is' in capitals.",
        *secret("PASSWORD IS Tr0ub4dor&3", "PASSWORD IS [password]", ("password", 12, 23)),
    ),
    Case("The word preceded by a letter is not the word.", *none_found("mypassword: x")),
    Case(
        "An underscore before the word is not a letter; only one token is taken.",
        *secret("my_password: open sesame", "my_password: [password] sesame", ("password", 13, 17)),
    ),
    Case("The word followed by letters ('passwords') is not the word.", *none_found("passwords: x")),
    Case("The token must be on the same line.", *none_found("password:\nabc")),
    Case("A non-ASCII word of letters only after 'is' is not a password.", *none_found("password is\tüber")),
    Case(
        "A non-ASCII token with a digit after 'is' is.",
        *secret("password is straße1", "password is [password]", ("password", 12, 19)),
    ),
    Case(
        "A password word inside another's token starts a finding of its own.",
        *secret(
            "password: password: abc",
            "password: [password] [password]",
            ("password", 10, 19),
            ("password", 20, 23),
        ),
    ),
    # ------------------------------------------------------------------ overlaps
    Case(
        "A card that is also a password token: same span, the card wins (table order).",
        *secret("password: 4242424242424242", "password: [card ending 4242]", ("payment_card", 10, 26)),
    ),
    Case(
        "A password token one character longer than the card in it: the longer wins.",
        *secret("password: 4242424242424242!", "password: [password]", ("password", 10, 27)),
    ),
    Case(
        "A password token starting before the card in it: the earlier wins.",
        *secret("pwd=#4242424242424242", "pwd=[password]", ("password", 4, 21)),
    ),
    Case(
        "A Social Security number that begins a 13-digit card: the card is longer.",
        *secret("SSN 412-45-6789 0128", "SSN [card ending 0128]", ("payment_card", 4, 20)),
    ),
    Case(
        "One of each, apart: four findings in order.",
        *secret(
            "Card 4242 4242 4242 4242, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789, password: x1",
            "Card [card ending 4242], IBAN [IBAN ending 5432], SSN [national ID], password: [password]",
            ("payment_card", 5, 24),
            ("iban", 31, 58),
            ("national_id", 64, 75),
            ("password", 87, 89),
        ),
    ),
    Case(
        "Contingencies read the text before masking: a phrase in a password token is found.",
        customer("my password is useless!"),
        out(
            "my password is useless!",
            contingencies=["aggressive-customer"],
            redacted="my password is [password]",
            findings=[("password", 15, 23)],
        ),
    ),
    # ------------------------------------------------------------------ the project's own detectors
    Case(
        "An email address is masked, not its full stop.",
        *secret("write to maria.lopez@example.com.", "write to [email].", ("email_address", 9, 32)),
        protocol="own",
    ),
    Case(
        "A non-ASCII name before an email address.",
        *secret("José: jose@correo.es", "José: [email]", ("email_address", 6, 20)),
        protocol="own",
    ),
    Case(
        "An international phone number.",
        *secret("call +1 212 555 0100 today", "call [phone] today", ("phone_number", 5, 20)),
        protocol="own",
    ),
    Case(
        "National numbers with an area code in parentheses, or in three or more groups.",
        *secret(
            "or (212) 555-0100, or 1-800-555-0199",
            "or [phone], or [phone]",
            ("phone_number", 3, 17),
            ("phone_number", 22, 36),
        ),
        protocol="own",
    ),
    Case(
        "Dates, times and order numbers are not phone numbers.",
        *none_found("on 2026-05-01 12:30, order 2026-123456, 01/05/2026"),
        protocol="own",
    ),
    Case(
        "A card is a card, not a phone number.",
        *secret("Card 4242 4242 4242 4242", "Card [card ending 4242]", ("payment_card", 5, 24)),
        protocol="own",
    ),
]

PROTOCOLS = {"main": PROTOCOL, "bare": BARE, "own": OWN_DETECTORS}


def _checks(name: str) -> MessageChecks:
    if name not in _COMPILED:
        result = load_protocol(PROTOCOLS[name], f"{name}.yaml")
        assert result.ok and result.protocol is not None, result.errors
        _COMPILED[name] = MessageChecks(result.protocol)
    return _COMPILED[name]


_COMPILED: dict[str, MessageChecks] = {}


def test_there_are_enough_cases_and_their_behaviours_are_distinct() -> None:
    """The table holds at least 60 messages, each stating a different behaviour."""
    assert len(CASES) >= 60
    assert len({case.behaviour for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}" for i in range(len(CASES))])
def test_message(case: Case) -> None:
    """Each message gives exactly its worked-out output (the spec's JSON, as parsed)."""
    line = {"id": "m", **case.line}
    message = Message(
        line["id"], line["kind"], line["text"], line.get("customer_name"), line.get("last_customer_message")
    )
    got = check_message(_checks(case.protocol), message)
    if got["etiquette"] is not None:
        for problem in got["etiquette"]["problems"]:
            detail = problem.pop("detail")
            assert isinstance(detail, str) and detail, case.behaviour
    assert got == {"id": "m", **case.expected}, case.behaviour


# --------------------------------------------------------------------------- the engine's own API


def test_problems_matches_and_findings_name_their_clause() -> None:
    """Every result names the protocol clause that made it, for the audit log."""
    checks = _checks("main")
    reply = checks.check_reply(
        "not my problem, as I already said",
        customer_name="Maria",
        last_customer_message="so angry",
    )
    assert reply.etiquette is not None
    assert [(p.check, p.clause) for p in reply.etiquette.problems] == [
        ("greeting", "etiquette.greeting"),
        ("closing", "etiquette.closing"),
        ("customer_name", "etiquette.use_customer_name"),
        ("banned_phrase", "etiquette.banned_phrases[1]"),
        ("banned_phrase", "etiquette.banned_phrases[2]"),
        ("empathy", "etiquette.empathy"),
    ]
    message = checks.check_customer_message("I WAS BADLY INJURED BY YOUR STOVE, pwd=x, card 4242424242424242")
    assert [(m.id, m.clause, m.phrase, m.shouting) for m in message.contingencies] == [
        ("aggressive-customer", "contingencies.aggressive-customer", None, True),
        ("injury-report", "contingencies.injury-report", "injured", False),
        ("loud", "contingencies.loud", None, True),
    ]
    # privacy.redact is [password, national_id, iban, payment_card]: each finding names its entry.
    assert [(f.detector, f.clause) for f in message.redaction.findings] == [
        ("password", "privacy.redact[0]"),
        ("payment_card", "privacy.redact[3]"),
    ]


def test_the_desk_sentences_say_what_to_write() -> None:
    """Problems read as plain advice built from the protocol's own patterns and phrases."""
    checks = _checks("main")
    reply = checks.check_reply("calm down " * 13, customer_name="Maria", last_customer_message="angry")
    assert reply.etiquette is not None
    assert [p.detail for p in reply.etiquette.problems] == [
        "No greeting: start with hi, hello or dear.",
        "No closing: end with regards, thanks or best.",
        "Address the customer by name: the reply never says Maria.",
        "'calm down' is on the banned list; say it another way.",
        "The customer wrote 'angry': acknowledge it first; use sorry, understand, apologise or apologize.",
        "Too long: 26 words; the limit is 25.",
    ]
    finding = checks.redact("card 4242 4242 4242 4242").findings[0]
    assert finding.detail == "a card number will be shown as [card ending 4242]"
    match = checks.check_customer_message("my lawyer").contingencies[0]
    assert (match.title, match.reason) == ("Aggressive customer", "the message says 'lawyer'")


def test_a_pattern_that_cannot_be_read_aloud_is_quoted() -> None:
    """A greeting pattern that is not a plain list of words is shown as written."""
    text = PROTOCOL.replace('["^(hi|hello|dear)\\\\b"]', '["^\\\\w+,"]')
    assert text != PROTOCOL
    result = load_protocol(text, "t.yaml")
    assert result.protocol is not None, result.errors
    reply = MessageChecks(result.protocol).check_reply("Maria: ok. Thanks", customer_name="Maria")
    assert reply.etiquette is not None
    assert reply.etiquette.problems[0].detail == "No greeting: match the pattern ^\\w+,."


def test_a_finding_keeps_no_secret() -> None:
    """A finding holds where the secret was and its mask (a card's last four digits at most)."""
    redaction = _checks("main").redact("pay 4242 4242 4242 4242, pwd: hunter2 and DE89370400440532013000")
    assert redaction.text == "pay [card ending 4242], pwd: [password] and [IBAN ending 3000]"
    for finding in redaction.findings:
        values = [str(getattr(finding, name)) for name in finding.__slots__]
        assert not any(secret in value for value in values for secret in ("4242 4242", "hunter2", "37040044"))


def test_the_demo_protocol_compiles_once_and_checks_both_kinds() -> None:
    """The demo protocol's message rules compile, and one object checks replies and customer messages."""
    from charterdesk.protocol.load import load_protocol_file
    from tests.protocol._cases import EXAMPLE

    protocol = load_protocol_file(str(EXAMPLE)).protocol
    assert protocol is not None
    checks = MessageChecks(protocol)
    reply = checks.check_reply("Good morning Sam, done.\nCheers,\nAlex", customer_name="Sam Lee")
    assert reply.passed
    message = checks.check_customer_message("I BURNED MY HAND, I AM FURIOUS ABOUT THIS STOVE")
    assert [m.id for m in message.contingencies] == ["aggressive-customer", "injury-report"]
    assert protocol.contingency("injury-report").title == "A customer reports an injury"
