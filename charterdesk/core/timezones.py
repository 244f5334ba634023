"""The time zones a person (agent or customer) can pick from a list."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache


@lru_cache(maxsize=1)
def timezone_choices() -> tuple[str, ...]:
    """IANA zones a customer would pick: Region/City names and UTC, without legacy aliases."""
    legacy = ("Etc/", "SystemV/", "US/", "posix/", "right/", "Canada/", "Brazil/", "Chile/", "Mexico/")
    zones = {z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(legacy)}
    return ("UTC", *sorted(zones))
