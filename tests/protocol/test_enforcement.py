"""The handbook tells the truth: each section's promise is worded from the registry of what the desk
enforces (charterdesk/protocol/enforcement.py), and every entry there names a test that exists."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

from charterdesk.protocol import enforcement
from charterdesk.protocol.enforcement import ENFORCED, PROMISES
from charterdesk.protocol.render import handbook_sections, render, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def _missing(entries: dict[str, str]) -> list[str]:
    """Entries whose named test (tests/x.py::test_name) is not a test function of that file."""
    missing = []
    for key, proof in entries.items():
        path, _, name = proof.partition("::")
        file = ROOT / path
        if not name.startswith("test_") or not path.startswith("tests/") or not file.is_file():
            missing.append(f"{key}: {proof}")
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if name not in names:
            missing.append(f"{key}: {proof}")
    return missing


def test_every_enforced_promise_names_a_test_that_exists():
    """An entry proves itself by a test that is there; a promise the registry does not know is a typo."""
    assert _missing(ENFORCED) == []
    assert set(ENFORCED) <= set(PROMISES)


def test_an_entry_naming_a_missing_test_is_caught():
    """The check is not vacuous: a renamed or deleted proof is reported, as is a malformed one."""
    fake = {
        "a": "tests/tickets/test_worker.py::test_no_such_test",
        "b": "tests/nowhere.py::test_x",
        "c": "tests/tickets/test_worker.py",
    }
    assert len(_missing(fake)) == 3


def _section(protocol, key: str) -> str:
    return next(s.markdown for s in handbook_sections(protocol) if s.key == key)


def test_the_handbook_says_plainly_what_the_desk_does_not_do_yet(example_protocol, monkeypatch):
    """A promise the desk does not keep (taken out of the registry here) is worded as what people do
    instead, and its promise is gone from the handbook: reply checks, plans, masking, KPIs."""
    for promise in ("etiquette.reply_checks", "contingencies.detect", "privacy.redact", "reporting.kpis"):
        monkeypatch.delitem(ENFORCED, promise)
    markdown = render_markdown(example_protocol)
    assert "The desk checks every written public reply" not in markdown
    assert "acts once per ticket" not in markdown
    assert "The desk masks" not in markdown
    assert "The desk does not check replies against these rules yet" in _section(
        example_protocol, "etiquette"
    )
    assert "The desk does not mask payment card numbers" in _section(example_protocol, "privacy")
    assert "does not recognise these situations" in _section(example_protocol, "contingencies")


def test_every_family_that_landed_is_promised_and_proved():
    """Reply checks, contingencies, masking, surveys, KPIs and objectives are enforced now: each has
    its entry in the registry, naming the test that proves it."""
    for promise in PROMISES:
        assert promise in ENFORCED, f"{promise} is not enforced"


def test_what_the_desk_enforces_is_promised(example_protocol):
    """SLA clocks, escalations, procedures, receipts, auto-close and follow-ups are enforced, so the
    handbook promises them."""
    assert "The desk watches every response-time target" in _section(example_protocol, "escalation")
    assert "the desk shows them on the tickets they fit" in _section(example_protocol, "resolution")
    assert "A solved ticket closes by itself" in _section(example_protocol, "resolution")
    assert "the customer gets an acknowledgement at once" in _section(example_protocol, "channels")


def test_registering_a_promise_is_one_line_and_changes_every_format(example_protocol, monkeypatch):
    """When the reply checks land, one entry in ENFORCED makes the etiquette section promise them,
    in the Markdown, the HTML page and the PDF alike."""
    proof = ENFORCED["etiquette.reply_checks"]
    monkeypatch.delitem(ENFORCED, "etiquette.reply_checks")
    before = render(example_protocol, "html").decode()
    assert "The desk does not check replies" in before
    monkeypatch.setitem(ENFORCED, "etiquette.reply_checks", proof)
    assert "The desk checks every written public reply" in _section(example_protocol, "etiquette")
    assert "The desk checks every written public reply" in render(example_protocol, "html").decode()
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(render(example_protocol, "pdf")))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)
    assert "The desk checks every written public reply" in text


def test_an_unknown_promise_is_an_error():
    """A section asking for a promise the registry does not have fails loudly, not silently false."""
    with pytest.raises(KeyError, match="not a promise"):
        enforcement.enforced("nothing.like.this")


def test_the_handbook_says_what_handle_time_measures_when_the_desk_measures_it(example_source, monkeypatch):
    """A protocol listing handle_time: its reporting section says the desk measures the time a
    ticket's page is open and in use and the calls logged, up to the solve; without the registry's
    entry it would say plainly that handle time is not measured."""
    from charterdesk.protocol.load import load_protocol_or_raise

    kpis = "kpis: [first_response_time,"
    assert kpis in example_source
    protocol = load_protocol_or_raise(
        example_source.replace(kpis, "kpis: [handle_time, first_response_time,"), "p.yaml"
    )
    assert "Handle time is measured by the desk" in _section(protocol, "reporting")
    assert "A page left open stops counting after a minute." in _section(protocol, "reporting")
    monkeypatch.delitem(ENFORCED, "reporting.handle_time")
    assert "Handle time is not measured by the desk yet" in _section(protocol, "reporting")
