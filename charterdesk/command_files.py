"""What the file-only commands (`sla replay`, `kpi`, `messages check`, `protocol whatif --events`)
share: the protocol loaded or its problems said, the whole input read at once, the garbage
collector off while millions of small objects are held, output that appears whole or not at
all, and the process ended as soon as it is written."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from charterdesk.engine.bulk import many_small_objects

__all__ = [
    "end_process",
    "load_protocol_or_say",
    "many_small_objects",
    "read_all",
    "write_atomically",
    "write_lines",
]

if TYPE_CHECKING:
    from charterdesk.protocol.models import Protocol

# Lines written per call: one write per line costs more than the lines.
FLUSH_EVERY = 1024


def end_process(code: int) -> NoReturn:
    """End the process at once with ``code``, once its output is written: the standard streams are
    flushed, then ``os._exit``. A command that has just replayed a million events holds millions of
    small objects; freeing them one by one on the way out took half a second, a tenth of the whole
    command, and the system takes the memory back at once anyway. Only for a command that is the
    process's own program (``process=True``), never for one called in-process (tests): it skips
    ``atexit`` and ``finally`` blocks, so call it only when nothing is left to clean up."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def load_protocol_or_say(path: str, not_done: str) -> Protocol | None:
    """The protocol at ``path``; or, when it does not validate, None once each problem is printed
    on standard error (``FILE:LINE:COL: message``), then ``PATH: the protocol does not validate;
    <not_done>``."""
    from charterdesk.protocol.load import load_protocol_file

    loaded = load_protocol_file(path)
    if loaded.ok and loaded.protocol is not None:
        return loaded.protocol
    for problem in loaded.errors or loaded.problems:
        print(problem, file=sys.stderr)
    print(f"{path}: the protocol does not validate; {not_done}", file=sys.stderr)
    return None


def read_all(path: str) -> bytes:
    """The whole file (or standard input, for ``-``) as bytes."""
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as stream:
        return stream.read()


def write_lines(out, lines: Sequence[str] | Sequence[bytes]) -> None:
    """Write ``lines`` to an open stream (standard output), a chunk at a time: text to a text
    stream, bytes to a binary one."""
    for start in range(0, len(lines), FLUSH_EVERY):
        chunk = lines[start : start + FLUSH_EVERY]
        out.write(b"".join(chunk) if isinstance(chunk[0], bytes) else "".join(chunk))


def write_atomically(path: str, lines: Sequence[str] | Sequence[bytes]) -> None:
    """Write ``lines`` (text as UTF-8, or bytes) to a temporary file in the target's folder, then
    rename it into place: a failure part-way leaves no partial output behind."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            for start in range(0, len(lines), FLUSH_EVERY):
                chunk = lines[start : start + FLUSH_EVERY]
                out.write(
                    b"".join(chunk) if chunk and isinstance(chunk[0], bytes) else "".join(chunk).encode()
                )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
