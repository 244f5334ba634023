"""Reading the library: which version is in force, which is scheduled, and each version parsed.

Parsing YAML on every request would be wasteful, so parsed protocols are kept per
process, keyed by the version's id and last change: a published version never
changes, and a draft's key changes whenever it is saved.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import lru_cache

from django.utils import timezone

from charterdesk.protocol.load import LoadResult, Problem, load_protocol
from charterdesk.protocol.models import Protocol

from .models import ProtocolVersion, VersionStatus


def published():
    return ProtocolVersion.objects.filter(status=VersionStatus.PUBLISHED)


def version_in_force(now: dt.datetime | None = None) -> ProtocolVersion | None:
    """The published version with the latest effective time that has come."""
    now = now or timezone.now()
    return published().filter(effective_at__lte=now).order_by("-effective_at", "-published_at", "-id").first()


def next_scheduled(now: dt.datetime | None = None) -> ProtocolVersion | None:
    """The next published version whose effective time is still ahead, if any."""
    now = now or timezone.now()
    return published().filter(effective_at__gt=now).order_by("effective_at").first()


def team_zone(protocol: Protocol | None) -> zoneinfo.ZoneInfo:
    """The team's own time zone: that of the protocol's first calendar that has one (else UTC).

    Effective dates mean the start of that day in this zone, on the publish page and on the
    command line alike.
    """
    for calendar in protocol.calendars if protocol else ():
        if calendar.timezone:
            return zoneinfo.ZoneInfo(calendar.timezone)
    return zoneinfo.ZoneInfo("UTC")


def start_of_day(day: dt.date, protocol: Protocol | None) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=team_zone(protocol))


def load_version(version: ProtocolVersion) -> LoadResult:
    """The version's file, parsed and checked (cached per process)."""
    return _load(version.pk, version.updated_at.isoformat() if version.updated_at else "", version.source)


def protocol_of(version: ProtocolVersion) -> Protocol | None:
    return load_version(version).protocol


@lru_cache(maxsize=64)
def _load(pk: int, stamp: str, source: str) -> LoadResult:
    return load_protocol(source, filename=f"version-{pk}.yaml")


# --------------------------------------------------------------------------- version numbers

_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_VERSION_LINE = re.compile(r"""^(version:[ \t]*)(["']?)([^"'\n#]*?)\2([ \t]*(?:#.*)?)$""", re.M)


def next_version(number: str, taken: set[str]) -> str:
    """The number a copy of ``number`` proposes: its last figure raised until no published version
    has it ('3.2' -> '3.3', or '3.4' when 3.3 is published; 'v9' -> 'v10'; '2026' -> '2027')."""
    match = _LAST_NUMBER.search(number)
    if match is None:
        candidate, n = f"{number}.1", 1
        while candidate in taken:
            n += 1
            candidate = f"{number}.{n}"
        return candidate
    start, end = match.span()
    value = int(match.group(1))
    while True:
        value += 1
        candidate = f"{number[:start]}{value}{number[end:]}"
        if candidate not in taken:
            return candidate


def with_version(source: str, number: str) -> str:
    """``source`` with its top-level ``version:`` set to ``number`` (quoted, so 3.10 stays 3.10)."""
    return _VERSION_LINE.sub(lambda m: f'{m.group(1)}"{number}"{m.group(4)}', source, count=1)


def published_numbers() -> set[str]:
    return set(published().values_list("version", flat=True))


def editor_problems(source: str) -> list[Problem]:
    """The editor's problems: the file's own, and a version number already published, at its line
    (publishing would refuse it; the editor says so while the number can still be changed)."""
    result = load_protocol(source, filename="draft.yaml")
    problems = list(result.problems)
    if result.protocol is not None and result.source is not None:
        number = result.protocol.version
        if number in published_numbers():
            where = result.source.position(("version",))
            free = next_version(number, published_numbers())
            problems.append(
                Problem(
                    "draft.yaml",
                    where.line,
                    where.column,
                    "version",
                    f"version {number} is already published; raise the version number (the next free "
                    f"one is {free})",
                )
            )
            problems.sort(key=lambda p: (p.line, p.column))
    return problems
