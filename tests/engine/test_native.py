"""The compiled engine: used when built from the sources on disk, never when stale, same answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import charterdesk.engine
from charterdesk.engine import COMPILED, pure_python_requested, source_fingerprint
from charterdesk.engine import sla as sla_module

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "charterdesk"
PROTOCOL = PACKAGE / "demo" / "acme-outdoor.protocol.yaml"


def _loaded_from(env_extra: dict[str, str]) -> str:
    env = dict(os.environ, **env_extra)
    code = "import charterdesk.engine.sla as m; print(m.__file__)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(pure_python_requested(), reason="this run is the plain-Python one")
def test_ci_runs_the_compiled_engine():
    """Where a build is required (CI), the engine this process runs is the compiled one."""
    if os.environ.get("CHARTERDESK_REQUIRE_NATIVE") != "1" and charterdesk.engine.NATIVE is None:
        pytest.skip("no compiled engine here (python -m charterdesk.native builds it)")
    assert charterdesk.engine.NATIVE is not None
    assert sla_module.__file__ is not None and not sla_module.__file__.endswith(".py")


def test_pure_python_can_be_asked_for():
    """CHARTERDESK_PURE_PYTHON=1 loads the .py source whatever is built."""
    assert _loaded_from({"CHARTERDESK_PURE_PYTHON": "1"}) == str(PACKAGE / "engine" / "sla.py")


def test_an_edited_source_is_never_shadowed_by_an_old_build(tmp_path):
    """The build's name changes with any byte of a compiled module or of the models it reads."""
    copy = tmp_path / "charterdesk"
    (copy / "engine").mkdir(parents=True)
    (copy / "protocol").mkdir()
    for name in COMPILED:
        shutil.copy(PACKAGE / "engine" / f"{name}.py", copy / "engine")
    for name in ("models.py", "durations.py"):
        shutil.copy(PACKAGE / "protocol" / name, copy / "protocol")
    assert source_fingerprint(copy) == source_fingerprint()
    for edited in [copy / "engine" / f"{name}.py" for name in COMPILED] + [copy / "protocol" / "models.py"]:
        original = edited.read_bytes()
        edited.write_bytes(original + b"\n# edited\n")
        assert source_fingerprint(copy) != source_fingerprint(), edited.name
        edited.write_bytes(original)


def test_compiled_and_plain_python_replays_are_byte_for_byte_the_same(tmp_path):
    """The same event log replayed by either engine gives the same output file."""
    events = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_events.py"), "--events", "20000", "-o", str(events)],
        check=True,
        capture_output=True,
    )
    outputs = []
    for pure in ("1", "0"):
        out = tmp_path / f"out-{pure}.jsonl"
        env = dict(os.environ, CHARTERDESK_PURE_PYTHON=pure, CHARTERDESK_REPLAY_WORKERS="1")
        command = [sys.executable, "-m", "charterdesk.replay_command", "--protocol", str(PROTOCOL)]
        subprocess.run([*command, str(events), "-o", str(out)], env=env, check=True, cwd=ROOT)
        outputs.append(out.read_bytes())
    assert outputs[0].count(b"\n") > 3000
    assert outputs[0] == outputs[1]
