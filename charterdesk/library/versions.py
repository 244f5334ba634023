"""Reading the library: which version is in force, which is scheduled, and each version parsed.

Parsing YAML on every request would be wasteful, so parsed protocols are kept per
process, keyed by the version's id and last change: a published version never
changes, and a draft's key changes whenever it is saved.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache

from django.utils import timezone

from charterdesk.protocol.load import LoadResult, load_protocol
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
