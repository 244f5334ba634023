"""The handbook as one Markdown document: cover lines, contents, then every section."""

from __future__ import annotations

from ..models import Protocol
from .document import esc
from .sections import build_sections
from .words import long_date_words


def cover_lines(protocol: Protocol) -> tuple[str, str]:
    """``("Version 3.2", "Effective 1 December 2026")`` or ``(..., "Draft — not yet in force")``."""
    version = f"Version {protocol.version}"
    if protocol.effective is None:
        return version, "Draft — not yet in force"
    return version, f"Effective {long_date_words(protocol.effective)}"


def render_markdown(protocol: Protocol) -> str:
    sections = build_sections(protocol)
    version, effective = cover_lines(protocol)
    parts = [
        f"# {esc(protocol.title, line_start=False)}",
        f"**{esc(protocol.company)}**  \n{esc(version)} · {esc(effective)}",
        "## Contents",
        "\n".join(f"{s.number}. {esc(s.title, line_start=False)}" for s in sections),
    ]
    parts.extend(section.markdown.rstrip("\n") for section in sections)
    return "\n\n".join(parts) + "\n"
