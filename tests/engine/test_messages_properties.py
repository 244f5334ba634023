"""Properties of the message checks, on generated messages (Hypothesis)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import luhn

from charterdesk.engine.contingencies import is_shouting
from charterdesk.engine.messages import MessageChecks
from charterdesk.engine.phrases import CompiledPhrase, PhraseSet, spaced
from charterdesk.engine.redaction import DETECTORS, Finding, Redactor
from charterdesk.messages_command import main
from charterdesk.protocol.load import load_protocol

from .test_messages import PROTOCOL

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVERY = Redactor(DETECTORS)

# Pieces that make the detectors work hard when strung together at random.
PIECES = st.sampled_from(
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4222222222222",
        "42",
        "-",
        " ",
        "  ",
        "\n",
        "\t",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "NL91 ABNA 0417 1643 00",
        " ABCD",
        " 12",
        "123-45-6789",
        "123 45 6789",
        "password",
        "PWD",
        "passcode",
        ":",
        "=",
        " is ",
        "hunter2",
        "x",
        "é",
        "😀",
        "_",
        "maria@example.com",
        "@",
        ".",
        "+1 212 555 0100",
        "(212) 555-0100",
    ]
)
TEXTS = st.lists(
    st.one_of(PIECES, st.text(alphabet="0123456789 -ABCDEWXYZabcdeé:=._@+()\t", max_size=8)), max_size=14
).map("".join)


def rebuilt(text: str, findings: tuple[Finding, ...]) -> str:
    pieces, at = [], 0
    for finding in findings:
        pieces += [text[at : finding.start], finding.mask]
        at = finding.end
    return "".join(pieces) + text[at:]


@SETTINGS
@given(TEXTS)
def test_findings_are_ordered_apart_and_make_the_masked_text(text: str) -> None:
    """Findings are sorted by start, never overlap, lie inside the text, and the masked text is
    the text with each finding replaced by its mask."""
    result = EVERY.redact(text)
    at = 0
    for finding in result.findings:
        assert at <= finding.start < finding.end <= len(text)
        at = finding.end
    assert result.text == rebuilt(text, result.findings)


# ---------------------------------------------------------------- detectors against the spec's words


def spec_keep(candidates: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """The spec's overlap rule for one detector: by start, longer first; drop what overlaps."""
    kept: list[tuple[int, int]] = []
    for start, end, _ in sorted(candidates, key=lambda c: (c[0], c[0] - c[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def spec_cards(text: str) -> list[tuple[int, int, str]]:
    """Payment cards, walking the text digit by digit as the spec words it."""
    found, i, n = [], 0, len(text)
    while i < n:
        if text[i] not in "0123456789":
            i += 1
            continue
        start, digits, k = i, text[i], i + 1
        while True:
            if k < n and text[k] in "0123456789":
                digits, k = digits + text[k], k + 1
            elif k + 1 < n and text[k] in " -" and text[k + 1] in "0123456789":
                digits, k = digits + text[k + 1], k + 2
            else:
                break
        end, i = k, k
        touching = (start > 0 and text[start - 1].isalpha()) or (end < n and text[end].isalpha())
        if not touching and 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits):
            found.append((start, end, digits[-4:]))
    return found


_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)")


def spec_ibans(text: str) -> list[tuple[int, int, str]]:
    """IBANs: from every start, the longest stretch of the shape (found by trying every end)."""
    found = []
    for start in range(len(text)):
        if (start > 0 and text[start - 1].isalnum()) or not re.fullmatch(
            r"[A-Z]{2}[0-9]{2}", text[start : start + 4]
        ):
            continue
        longest = min(len(text), start + 4 + 7 * 5 + 4)  # seven groups of " XXXX" and " XXX"
        ends = [end for end in range(start + 4, longest + 1) if _IBAN_SHAPE.fullmatch(text, start, end)]
        if not ends:
            continue
        end = max(ends)
        number = text[start:end].replace(" ", "")
        if (end == len(text) or not text[end].isalnum()) and stdnum_iban.is_valid(number):
            found.append((start, end, number[-4:]))
    return found


def spec_national_ids(text: str) -> list[tuple[int, int, str]]:
    found = []
    for start in range(len(text) - 10):
        s = text[start : start + 11]
        digits_at = (0, 1, 2, 4, 5, 7, 8, 9, 10)
        if not all(s[i] in "0123456789" for i in digits_at) or s[3] != s[6] or s[3] not in "- ":
            continue
        if (start > 0 and text[start - 1].isalnum()) or (
            start + 11 < len(text) and text[start + 11].isalnum()
        ):
            continue
        area, group, serial = s[0:3], s[4:6], s[7:11]
        if area in ("000", "666") or area >= "900" or group == "00" or serial == "0000":
            continue
        found.append((start, start + 11, ""))
    return found


def spec_passwords(text: str) -> list[tuple[int, int, str]]:
    """Password tokens, trying the spec's two forms after every keyword at every place."""
    found = []
    n = len(text)

    def blanks(k: int) -> int:
        while k < n and text[k] in " \t":
            k += 1
        return k

    def token_end(k: int) -> int:
        while k < n and not text[k].isspace():
            k += 1
        return k

    for start in range(n):
        if start > 0 and text[start - 1].isalnum():
            continue
        keyword = next(
            (
                w
                for w in ("password", "passcode", "passwd", "pwd")
                if text[start : start + len(w)].lower() == w
            ),
            None,
        )
        if keyword is None:
            continue
        k = blanks(start + len(keyword))
        if k < n and text[k] in ":=":
            first = blanks(k + 1)
            if token_end(first) > first:
                found.append((first, token_end(first), ""))
            continue
        if k > start + len(keyword) and text[k : k + 2].lower() == "is":
            first = blanks(k + 2)
            token = text[first : token_end(first)]
            if first > k + 2 and token and not token.isalpha():
                found.append((first, first + len(token), ""))
    return found


@pytest.mark.parametrize(
    ("detector", "spec"),
    [
        ("payment_card", spec_cards),
        ("iban", spec_ibans),
        ("national_id", spec_national_ids),
        ("password", spec_passwords),
    ],
)
@SETTINGS
@given(text=TEXTS)
def test_each_detector_finds_what_the_spec_describes(detector: str, spec, text: str) -> None:  # type: ignore[no-untyped-def]
    """Cards, IBANs, Social Security numbers and passwords found by the engine are exactly those a
    plain walk through the spec's wording finds (every start, every end), under the overlap rule."""
    got = [(f.start, f.end) for f in Redactor([detector]).redact(text).findings]
    assert got == spec_keep(spec(text))


# --------------------------------------------------------------------------- messages made of secrets


def luhn_complete(payload: str) -> str:
    return payload + luhn.calc_check_digit(payload)


CARD_NUMBERS = st.builds(
    lambda first, rest: luhn_complete(first + rest),
    st.sampled_from("23456"),
    st.integers(11, 17).flatmap(lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)),
)


@st.composite
def written_cards(draw: st.DrawFn) -> tuple[str, str]:
    """A valid card number, and the way a customer wrote it (random single spaces or hyphens)."""
    number = draw(CARD_NUMBERS)
    gaps = draw(
        st.lists(st.sampled_from(["", "", " ", "-"]), min_size=len(number) - 1, max_size=len(number) - 1)
    )
    return number, number[0] + "".join(gap + digit for gap, digit in zip(gaps, number[1:], strict=True))


IBANS = st.sampled_from(
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "CH9300762011623852957",
        "ES9121000418450200051332",
        "NO9386011117947",
    ]
)
WRITTEN_IBANS = st.tuples(IBANS, st.booleans()).map(lambda x: stdnum_iban.format(x[0]) if x[1] else x[0])
SSNS = st.builds(
    lambda a, g, s, sep: f"{a:03d}{sep}{g:02d}{sep}{s:04d}",
    st.integers(1, 899).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
    st.sampled_from("- "),
)
EMAILS = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8})?@[a-z]{2,8}\.(com|org|example)", fullmatch=True)
PHONES = st.sampled_from(["+1 212 555 0100", "(212) 555-0100", "+44 20 7946 0958", "1-800-555-0199"])
PASSWORDS = st.builds(
    lambda word, token: f"{word} {token}",
    st.sampled_from(["password:", "Password =", "pwd:", "passcode is", "PASSWD IS"]),
    st.from_regex(r"[A-Za-z]{1,6}[0-9][A-Za-z0-9!#]{0,6}", fullmatch=True),
)
FILLER = st.from_regex(r"[a-z]{1,9}", fullmatch=True).filter(
    lambda w: not any(k in w for k in ("passw", "pwd", "passcode"))
)
SECRETS = st.one_of(written_cards().map(lambda c: c[1]), WRITTEN_IBANS, SSNS, EMAILS, PHONES, PASSWORDS)


@SETTINGS
@given(st.lists(st.one_of(FILLER, SECRETS), max_size=12))
def test_redaction_is_idempotent_on_secrets_that_stand_apart(words: list[str]) -> None:
    """Secrets separated by ", " from everything else: masking the masked text changes nothing."""
    once = EVERY.redact(", ".join(words)).text
    assert EVERY.redact(once).text == once


@SETTINGS
@given(st.lists(st.one_of(FILLER, written_cards().map(lambda c: c[1]), WRITTEN_IBANS, SSNS), max_size=10))
def test_every_secret_standing_apart_is_found_and_gone_from_the_masked_text(words: list[str]) -> None:
    """Each card, IBAN and Social Security number (apart from others by ", ") is found, and none of
    them survives in the masked text: only a card's or IBAN's last four characters, in its mask."""
    text = ", ".join(words)
    result = EVERY.redact(text)
    secrets = [w for w in words if any(c.isdigit() for c in w)]
    assert len(result.findings) == len(secrets)
    for secret in secrets:
        assert secret not in result.text
        assert re.sub(r"[ -]", "", secret) not in re.sub(r"[ -]", "", result.text)


@SETTINGS
@given(written_cards(), st.sampled_from(["", " ", "(", "card "]), st.sampled_from(["", ".", " ok", ")"]))
def test_a_valid_card_is_masked_with_its_last_four_and_a_wrong_digit_unmasks_it(
    card: tuple[str, str], before: str, after: str
) -> None:
    """However it is spaced, a valid card is one finding masked with its last four digits; the same
    number with its check digit changed is no card at all."""
    number, written = card
    result = EVERY.redact(before + written + after)
    assert [(f.detector, f.start, f.end) for f in result.findings] == [
        ("payment_card", len(before), len(before) + len(written))
    ]
    assert result.text == f"{before}[card ending {number[-4:]}]{after}"
    wrong = written[:-1] + str((int(written[-1]) + 1) % 10)
    assert Redactor(["payment_card"]).redact(before + wrong + after).findings == ()


# --------------------------------------------------------------------------- phrases and shouting


@SETTINGS
@given(
    st.lists(st.from_regex(r"[a-zA-Zé']{1,8}", fullmatch=True), min_size=1, max_size=4),
    st.lists(st.sampled_from([" ", "  ", "\n", "\t ", "\u00a0"]), min_size=3, max_size=3),
    st.booleans(),
    st.sampled_from(["", " ", "(", ", "]),
    st.sampled_from(["", "!", ".", " ok"]),
)
def test_a_phrase_is_found_whatever_its_spacing_and_case(
    words: list[str], gaps: list[str], upper: bool, before: str, after: str
) -> None:
    """A phrase written with other whitespace runs and in another case is still found; with a
    letter glued to either end it is not."""
    phrase = CompiledPhrase(" ".join(words))
    written = "".join(w + gaps[i % len(gaps)] for i, w in enumerate(words)).rstrip(" \n\t\u00a0")
    written = written.upper() if upper else written.lower()
    assert phrase.found_in(spaced(before + written + after))
    assert not phrase.found_in(spaced("q" + written + after))
    assert not phrase.found_in(spaced(before + written + "q"))


@SETTINGS
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
    | st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x85\u00a0\u2028\u3000ab", max_size=12)
)
def test_spaced_makes_every_whitespace_run_one_space(text: str) -> None:
    """spaced(text) is the spec's norm(text): re.sub(r"\\s+", " ", text)."""
    assert spaced(text) == re.sub(r"\s+", " ", text)


@SETTINGS
@given(
    st.lists(st.text(alphabet="ab é-'", min_size=1, max_size=4).filter(str.strip), min_size=1, max_size=5),
    st.text(alphabet="abAB é-'\n_1", max_size=30),
)
def test_a_set_of_phrases_finds_what_its_phrases_find_one_by_one(phrases: list[str], text: str) -> None:
    """Searching phrases together (phrases that are prefixes of one another included) finds
    exactly the phrases that searching each alone finds."""
    spaced_text = spaced(text)
    alone = [(i, p) for i, p in enumerate(phrases) if CompiledPhrase(p).found_in(spaced_text)]
    together = PhraseSet(phrases)
    assert [(i, p.phrase) for i, p in together.found_in(spaced_text)] == alone
    assert together.any_in(spaced_text) == bool(alone)
    first = together.first_in(spaced_text)
    assert (first.phrase if first else None) == (alone[0][1] if alone else None)


@SETTINGS
@given(st.text(max_size=60), st.text(alphabet="0123456789 !?.,-\n", max_size=30))
def test_shouting_counts_letters_only(text: str, noise: str) -> None:
    """Digits, spaces and punctuation never change whether a message is shouting."""
    assert is_shouting(text + noise) == is_shouting(text) == is_shouting(noise + text)


# --------------------------------------------------------------------------- the command and the engine

MESSAGES = st.lists(
    st.tuples(
        st.sampled_from(["reply", "customer"]),
        st.one_of(TEXTS, st.text(max_size=40)),
        st.one_of(st.none(), st.sampled_from(["Maria Lopez", "  ", "Zoë", "José Álvarez"])),
        st.one_of(st.none(), TEXTS, st.sampled_from(["so angry", "I'm FED UP"])),
    ),
    max_size=8,
)


def engine_record(checks: MessageChecks, index: int, kind: str, text: str, name, last) -> dict:  # type: ignore[no-untyped-def]
    """What the spec says the command prints, from the engine's results."""
    record: dict = {"id": f"m{index}", "etiquette": None, "contingencies": []}
    if kind == "reply":
        reply = checks.check_reply(text, customer_name=name, last_customer_message=last)
        assert reply.etiquette is not None
        record["etiquette"] = {
            "passed": reply.etiquette.passed,
            "problems": [
                {
                    "check": p.check,
                    "detail": p.detail,
                    **({"phrase": p.phrase} if p.check == "banned_phrase" else {}),
                }
                for p in reply.etiquette.problems
            ],
        }
        redaction = reply.redaction
    else:
        message = checks.check_customer_message(text)
        record["contingencies"] = [m.id for m in message.contingencies]
        redaction = message.redaction
    record["redacted"] = redaction.text
    record["findings"] = [
        {"detector": f.detector, "start": f.start, "end": f.end} for f in redaction.findings
    ]
    return record


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_the_command_prints_the_engines_answer_for_each_line(tmp_path_factory, messages) -> None:  # type: ignore[no-untyped-def]
    """Line by line, the command's output is the engine's answer for that message."""
    folder: Path = tmp_path_factory.mktemp("messages")
    protocol = folder / "p.yaml"
    protocol.write_text(PROTOCOL, "utf-8")
    lines = []
    for index, (kind, text, name, last) in enumerate(messages):
        line = {"id": f"m{index}", "kind": kind, "text": text}
        if name is not None:
            line["customer_name"] = name
        if last is not None:
            line["last_customer_message"] = last
        lines.append(json.dumps(line))
    source = folder / "m.jsonl"
    source.write_text("\n".join(lines) + "\n", "utf-8")
    target = folder / "out.jsonl"
    assert main(["check", "--protocol", str(protocol), str(source), "-o", str(target)]) == 0
    got = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    loaded = load_protocol(PROTOCOL, "p.yaml").protocol
    assert loaded is not None
    checks = MessageChecks(loaded)
    assert got == [engine_record(checks, i, *m) for i, m in enumerate(messages)]
