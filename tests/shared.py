"""Values several test packages share."""

import datetime as dt

DEMO_SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""When the demo protocol the tests publish comes into force: before any time a test freezes (the
desk keeps no ticket under a protocol that was not yet in force)."""
