"""The pure engines: business calendars, SLA clocks, escalations and the replay.

Plain Python with no Django import (tests/test_layers.py checks it). The modules
on the hot path of a replay and of the live desk (``COMPILED``) can also run as
C extensions compiled from this very source by mypyc (part of mypy, which the
lint already uses): ``python -m charterdesk.native`` builds them, and
``dev.py`` does so whenever a C compiler is there. They are then about three
times faster and behave the same; the engine tests run both ways.

A compiled build is kept in ``_native/<fingerprint>/`` and used only when its
fingerprint (the Python version and a hash of the compiled sources and of the
protocol models they read) matches the files on disk, so an edited module is
never shadowed by a stale build: it runs as plain Python until the next build.
``CHARTERDESK_PURE_PYTHON=1`` turns the compiled build off.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

__all__ = ["COMPILED", "NATIVE", "native_folder", "pure_python_requested", "source_fingerprint"]

COMPILED = ("calendar", "calendars", "escalation", "sla", "replay", "kpis", "kpi_rollups", "whatif")
"""The modules compiled together, in charterdesk/engine/."""

_HERE = Path(__file__).resolve().parent
NATIVE_ROOT = _HERE / "_native"


def source_fingerprint(charterdesk: Path = _HERE.parent) -> str:
    """Names the build of exactly these sources for this Python (ABI tag and content hash);
    ``charterdesk`` is the package folder."""
    digest = hashlib.sha256()
    read = [charterdesk / "protocol" / "models.py", charterdesk / "protocol" / "durations.py"]
    for path in [*(charterdesk / "engine" / f"{name}.py" for name in COMPILED), *read]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{sys.implementation.cache_tag}-{digest.hexdigest()[:20]}"


def native_folder() -> Path:
    """Where the compiled build of the sources on disk lives (it may not exist)."""
    return NATIVE_ROOT / source_fingerprint()


def pure_python_requested() -> bool:
    """Whether ``CHARTERDESK_PURE_PYTHON`` asks for the plain-Python engine."""
    return os.environ.get("CHARTERDESK_PURE_PYTHON", "").strip() not in ("", "0")


def _use_native() -> str | None:
    if pure_python_requested():
        return None
    folder = native_folder()
    package = folder / "charterdesk" / "engine"
    if not package.is_dir():
        return None
    # The compiled modules share one runtime library, imported by a top-level name of its own;
    # appended, the folder serves only that name. Put first in this package's path, the
    # extension modules are found before the .py files of the same names.
    sys.path.append(str(folder))
    __path__.insert(0, str(package))
    return str(folder)


NATIVE: str | None = _use_native()
"""The folder of the compiled build in use, or None when the engine runs as plain Python."""
