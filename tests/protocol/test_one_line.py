# ruff: noqa: E501 - expected messages are whole lines, kept whole so that they read as printed
"""One-line values (names, titles, labels, ids, addresses) refuse line breaks, tabs and other
control characters at their line; descriptions and steps keep their line breaks."""

from __future__ import annotations

try:
    from ._cases import edited, example_text, lines, load
except ImportError:  # tests/protocol is not a package: pytest put its folder on sys.path
    from _cases import edited, example_text, lines, load


def test_a_company_with_a_line_break_is_refused_at_its_line():
    """company: "Acme\\nGear" is refused at line 2, naming the field and the line break, instead of
    passing and breaking every download later."""
    text = edited(("company: Acme Outdoor Gear", 'company: "Acme\\nGear"'))
    assert lines(text) == [
        "acme.yaml:2:10: company: 'Acme\\nGear' must be on one line, but it holds a line break after 'Acme'; write it without"
    ]
    assert load(text).protocol is None


def test_a_tab_in_the_company_is_refused_too():
    """company: "Acme\\tGear" is refused at line 2: a tab is no more a part of a name than a line break."""
    text = edited(("company: Acme Outdoor Gear", 'company: "Acme\\tGear"'))
    assert lines(text) == [
        "acme.yaml:2:10: company: 'Acme\\tGear' must be on one line, but it holds a tab after 'Acme'; write it without"
    ]


def test_other_one_line_fields_refuse_control_characters_at_their_line():
    """A role's title with a carriage return, a bell character at the start of the title, and a
    glossary term holding a line break are each refused at their own line and column."""
    text = edited(
        ("      title: Support Agent", '      title: "Support\\r\\nAgent"'),
        ("title: Customer Support Protocol", 'title: "\\aCustomer Support Protocol"'),
        ("  SLA: Service level", '  "S\\nLA": Service level'),
    )
    assert lines(text) == [
        "acme.yaml:3:8: title: '\\x07Customer Support Protocol' must be on one line, but it holds the control character U+0007 at its start; write it without",
        "acme.yaml:34:14: team.roles[0].title: 'Support\\r\\nAgent' must be on one line, but it holds a carriage return after 'Support'; write it without",
        "acme.yaml:302:3: glossary.S\\nLA: 'S\\nLA' must be on one line, but it holds a line break after 'S'; write it without",
    ]


def test_descriptions_and_steps_keep_their_line_breaks():
    """The example protocol, whose purpose and steps span several lines, loads; a purpose given two
    more lines loads too and keeps them."""
    assert load(example_text()).ok
    text = edited(("  purpose: |", "  purpose: |\n    First line.\n    Second line."))
    result = load(text)
    assert result.ok, result.problems
    assert "First line.\nSecond line." in result.protocol.introduction.purpose
