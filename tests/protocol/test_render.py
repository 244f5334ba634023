"""The handbook: Markdown, HTML and PDF rendered from the example protocol."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import yaml

from charterdesk.protocol.models import Protocol
from charterdesk.protocol.render import (
    SECTION_TITLES,
    describe_calendar,
    handbook_sections,
    render,
    render_html,
    render_markdown,
)
from charterdesk.protocol.render.document import demote_headings, esc, md_to_html
from charterdesk.protocol.render.words import closed_days, pattern_words, rule_words

EXPECTED_ORDER = [
    "introduction",
    "objectives",
    "team",
    "channels",
    "sla",
    "escalation",
    "resolution",
    "contingencies",
    "refunds",
    "privacy",
    "training",
    "knowledge_base",
    "surveys",
    "reporting",
    "emergency",
    "etiquette",
    "appendix",
    "answer-key",
]


def _variant(source: str, change) -> Protocol:
    """The example with ``change(data)`` applied to its YAML data."""
    data = yaml.safe_load(source)
    change(data)
    return Protocol.model_validate(data)


def _headings(markdown: str) -> list[str]:
    return re.findall(r"^## (\d+ .+)$", markdown, flags=re.M)


@pytest.fixture(scope="module")
def markdown(example_protocol) -> str:
    return render_markdown(example_protocol)


@pytest.fixture(scope="module")
def pdf_pages(example_protocol) -> list[str]:
    """The PDF's text, page by page (rendered once: WeasyPrint takes seconds)."""
    from pypdf import PdfReader

    data = render(example_protocol, "pdf")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


# --------------------------------------------------------------------------- sections


def test_sections_follow_the_template_order(example_protocol):
    """Every section of the example is there, in template order, numbered 1..n without gaps."""
    sections = handbook_sections(example_protocol)
    assert [s.key for s in sections] == EXPECTED_ORDER
    assert [s.number for s in sections] == list(range(1, len(EXPECTED_ORDER) + 1))
    for section in sections:
        assert section.title == SECTION_TITLES[section.key]
        assert section.markdown.startswith(f"## {section.number} {section.title}\n")
        assert f'<h2 id="{section.key}">' in section.html
        assert section.title in section.text


def test_left_out_sections_are_left_out_and_numbering_stays_continuous(example_source):
    """A protocol without refunds and escalation shows neither, and the numbers close the gap."""

    def drop(data):
        del data["refunds"], data["escalation"]

    protocol = _variant(example_source, drop)
    sections = handbook_sections(protocol)
    keys = [s.key for s in sections]
    assert "refunds" not in keys and "escalation" not in keys
    assert [s.number for s in sections] == list(range(1, len(sections) + 1))
    markdown = render_markdown(protocol)
    headings = _headings(markdown)
    assert not any("Returns and refunds" in h or "Escalation procedures" in h for h in headings)
    assert "Approved automatically" not in markdown
    assert _headings(markdown)[5] == "6 Issue resolution"


def test_markdown_headings_in_order(markdown):
    """The handbook's sections come in the fixed order under 'Customer Support Protocol', with 'Version 3.2 ·
    Effective 1 December 2026'."""
    titles = [re.sub(r"^\d+ ", "", h) for h in _headings(markdown)]
    assert titles == [SECTION_TITLES[key] for key in EXPECTED_ORDER]
    assert markdown.startswith("# Customer Support Protocol\n")
    assert "Version 3.2 · Effective 1 December 2026" in markdown


def test_draft_cover(example_source):
    """A protocol without an effective date is marked 'Draft — not yet in force' and lists no closed days."""
    protocol = _variant(example_source, lambda data: data.pop("effective"))
    assert "Draft — not yet in force" in render_markdown(protocol)
    # No effective date: no holiday list (it would depend on the clock).
    assert "Closed days in the twelve months" not in render_markdown(protocol)


def test_answers_are_in_the_answer_key_only(markdown):
    """Quiz choices appear in the Training chapter, and the right answers only in the Answer key at the
    end."""
    training = markdown[markdown.index("## 11 Training") : markdown.index("## 12 ")]
    key = markdown[markdown.index("## 18 Answer key") :]
    assert "a) All urgent tickets" in training and "b) Urgent tickets tagged vip" in training
    assert "1. b) Urgent tickets tagged vip" in key
    assert "2. b) No" in key
    assert "1. b) Calm down" in key
    assert "Answer key" not in training.replace("*Answer key*", "")
    assert "answer:" not in training.lower()


def test_sla_tables_per_policy(markdown):
    """The SLA chapter has one table per policy (three), says which tickets each applies to, gives business
    times in hours (never days) and says the resolution clock stops while pending."""
    sla = markdown[markdown.index("## 5 ") : markdown.index("## 6 ")]
    assert sla.count("| Priority |") == 3
    assert "**Applies to:** Urgent tickets tagged vip." in sla
    assert "| Urgent | 30 minutes | 1 hour | 2 hours | 4 hours |" in sla
    assert "| All priorities | 2 minutes | 5 minutes | 1 hour |" in sla
    # Business time is never said in days (a reader would take them for working days).
    assert "| Normal | 8 hours | 8 hours | 40 hours |" in sla
    assert "The resolution clock stops while a ticket is pending" in sla


def test_team_and_objectives(markdown):
    """The handbook shows the escalation chain Support Agent → Team Lead → Support Manager and the objectives
    (90% within 1 hour, at least 95%)."""
    assert "Support Agent → Team Lead → Support Manager" in markdown
    assert "**90% within 1 hour**" in markdown
    assert "**at least 95%**" in markdown
    assert "| **Team Lead** | 2 | Support Manager |" in markdown


def test_describe_calendar(example_protocol):
    """The office calendar reads 'Mon–Fri 08:00–18:00, Sat 10:00–14:00, New York time' with its holidays; the
    always calendar reads 'Around the clock (24×7)'."""
    office = example_protocol.calendar("office")
    assert describe_calendar(office) == (
        "Mon–Fri 08:00–18:00, Sat 10:00–14:00, New York time (America/New_York); "
        "closed on US (NY) public holidays and on 24 Dec 2026"
    )
    assert describe_calendar(example_protocol.calendar("always")) == "Around the clock (24×7)"


def test_closed_days_are_named_and_bounded(example_protocol):
    """Closed days from 1 December 2026 start with 24 December (company day), include Christmas Day and stop
    within twelve months."""
    days = closed_days(example_protocol.calendar("office"), dt.date(2026, 12, 1))
    assert days[0] == (dt.date(2026, 12, 24), "Closed (company day)")
    assert (dt.date(2026, 12, 25), "Christmas Day") in days
    assert all(dt.date(2026, 12, 1) <= day <= dt.date(2027, 11, 30) for day, _ in days)


def test_rules_in_words(example_protocol):
    """Escalation rules read as sentences: '15 minutes before a first response is due: notify the assignee',
    and so on."""
    words = [rule_words(rule, example_protocol) for rule in example_protocol.escalation]
    assert words[0] == "15 minutes before a first response is due: notify the assignee"
    assert (
        words[1]
        == "When any response-time target is breached: notify the Team Lead and add the tag sla-breached"
    )
    assert words[2].startswith("2 hours after a resolution target was breached, for urgent or high tickets: ")


def test_patterns_in_words():
    """Simple message patterns read in words ('starts with hi, hello or dear'); one that cannot be said in
    words gives None."""
    assert pattern_words(r"^(hi|hello|dear)\b") == "starts with hi, hello or dear"
    assert pattern_words(r"(regards|thanks)[,.!]?\s*$") == "ends with regards or thanks"
    assert pattern_words("apologi[sz]e") == "contains apologise or apologize"
    assert pattern_words(r"\d+") is None


def test_troubleshooting_tree_nests(markdown):
    """A troubleshooting tree is rendered as nested answers, each leading to its next question or advice."""
    assert "- **Yes, another code** → *Is the phone's software up to date?*" in markdown
    assert "  - **No** → Ask the customer to update the phone first." in markdown


# --------------------------------------------------------------------------- escaping


def test_html_escapes_raw_html_from_the_protocol(example_source):
    """Script tags, image tags and javascript: links written into the protocol come out escaped in the HTML
    handbook, never live."""
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    def inject(data):
        data["introduction"]["purpose"] = f"Purpose {evil}"
        data["title"] = f"Protocol {evil}"
        data["resolution"]["procedures"][0]["steps"][0] = f"Step {evil}"
        data["glossary"]["Term"] = f"[click](javascript:alert(1)) {evil}"

    page = render_html(_variant(example_source, inject))
    assert "<script>" not in page
    assert "<img" not in page
    assert 'href="javascript' not in page
    assert "&lt;script&gt;" in page


def test_author_headings_cannot_become_chapters():
    """Headings an author writes inside a text are pushed down below chapter level; '#' in a code block stays
    as is."""
    assert demote_headings("# Big\n\ntext\n\nSub\n---\n\n```\n# not a heading\n```") == (
        "#### Big\n\ntext\n\n##### Sub\n\n```\n# not a heading\n```"
    )


def test_esc_shows_text_literally():
    """Text with Markdown characters (*, _, [, |, 1., #, -) shows literally, not as formatting."""
    for text in ["*not bold* _x_ [l](u) <b> | `c` 1. # h", "+1 212 555 0100", "- dash"]:
        assert md_to_html(esc(text)).strip() == f"<p>{_html_escape(text)}</p>"


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


# --------------------------------------------------------------------------- formats


def test_render_formats(example_protocol):
    """render gives the same Markdown as render_markdown, HTML starting with <!DOCTYPE html>, and refuses an
    unknown format such as docx."""
    md = render(example_protocol, "md")
    page = render(example_protocol, "html")
    assert md.decode("utf-8") == render_markdown(example_protocol)
    assert page.decode("utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError):
        render(example_protocol, "docx")  # type: ignore[arg-type]


def test_html_standalone_and_fragment(example_protocol):
    """The standalone HTML handbook has contents, styles and the footer line; the fragment has every section
    anchor and no page wrapper; rendering twice gives the same page."""
    page = render_html(example_protocol)
    assert '<nav class="toc"' in page and '<a href="#sla">' in page
    assert "<style>" in page and "@page" in page
    assert "Acme Outdoor Gear — Customer Support Protocol — version 3.2" in page
    fragment = render_html(example_protocol, standalone=False)
    assert fragment.startswith('<div class="handbook">')
    assert "<html" not in fragment and "<style" not in fragment
    for key in EXPECTED_ORDER:
        assert f'id="{key}"' in fragment
    assert render_html(example_protocol) == page  # deterministic


def test_pdf_has_every_heading_version_and_page_numbers(pdf_pages, example_protocol):
    """The PDF has every section heading, 'Version 3.2' on the cover, the footer and 'Page N of M' on every
    later page, and the contents page gives the Answer key's page as the last."""
    text = " ".join(pdf_pages)
    sections = handbook_sections(example_protocol)
    for section in sections:
        assert f"{section.number} {section.title}" in text, section.title
    assert "Version 3.2" in pdf_pages[0]
    total = len(pdf_pages)
    assert total > len(sections)
    # Every page after the cover has the footer and its page number.
    for number, page in enumerate(pdf_pages[1:], start=2):
        assert "Acme Outdoor Gear — Customer Support Protocol — version 3.2" in page, number
        assert f"Page {number} of {total}" in page, number
    # The contents page gives page numbers: "Answer key" is on the last page.
    contents = pdf_pages[1]
    assert re.search(rf"Answer key\W*{total}\b", contents), contents
