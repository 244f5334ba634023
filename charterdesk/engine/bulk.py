"""Running an engine over many tickets at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def many_small_objects() -> Iterator[None]:
    """The cyclic garbage collector off for the block. Reading and replaying a whole event log, or
    a period of the desk's histories, makes millions of small objects that form no reference
    cycles (events, cycles, results); the collector would walk them again and again for nothing
    (a third of a replay's time). It is resumed after, as it was."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
