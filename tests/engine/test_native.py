"""The compiled engine: used when built from the sources on disk, never when stale, same answers."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime
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


# The example's rules in another order, so that at one instant a rule written earlier can take away
# what a later one needs (calm-down lowers an urgent vip ticket off the policy with periodic updates)
# or give it (escalations-watch holds once hand-to-escalations has moved the ticket).
REORDERED_RULES = """escalation:
  - id: escalations-watch
    when: {metric: resolution, breached: true, group: [escalations]}
    do: [{notify: "role:manager"}]
  - id: calm-down
    when: {metric: periodic_update, after_breach: 1h}
    do: [{set_priority: high}]
  - id: hand-to-escalations
    when: {metric: resolution, after_breach: 2h, priority: [high, urgent]}
    do: [{assign_group: escalations}, {set_priority: urgent}]
  - id: warn-assignee
    when: {metric: first_response, before_breach: 15m}
    do: [{notify: assignee}]
  - id: lead-on-breach
    when: {metric: any, breached: true}
    do: [{notify: "role:lead"}, {add_tag: sla-breached}]

"""


def _incident_tickets(count: int, seed: int) -> list[str]:
    """Tickets that use all of the spec's later rules: a third opened by an agent, each linked to an
    incident (often long after its targets, so that several rules fall due at the link, sometimes with a
    priority change at the same instant) and unlinked."""
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        ticket = f"I{number:05d}"
        at = 1_790_000_000 + rng.randrange(120 * 86400)
        steps: list[tuple[int, dict]] = [
            (at, {"event": "created", "priority": rng.choice(["low", "normal", "high", "urgent"]),
                  "channel": rng.choice(["email", "web", "chat"]), "tags": rng.choice([[], ["vip"]]),
                  "by": rng.choice(["customer", "customer", "agent"])}),
        ]  # fmt: skip
        if rng.random() < 0.6:
            at += rng.randrange(600, 4 * 3600)
            steps.append((at, {"event": "reply", "author": "agent"}))
        at += rng.choice([0, 3600, 6 * 3600, 2 * 86400])
        steps.append((at, {"event": "incident", "policy": rng.choice(["vip-urgent", "chat", "standard"])}))
        if rng.random() < 0.4:
            steps.append((at, {"event": "priority", "priority": rng.choice(["high", "urgent", "low"])}))
        if rng.random() < 0.3:
            at += rng.randrange(0, 3 * 3600)
            steps.append((at, {"event": "reply", "author": "customer"}))
        at += rng.choice([0, 1800, 5 * 3600, 86400])
        steps.append((at, {"event": "incident", "policy": None}))
        if rng.random() < 0.5:
            at += rng.randrange(0, 86400)
            steps.append((at, {"event": "status", "status": "solved"}))
        lines += [json.dumps({"ticket": ticket, "at": _utc(when), **fields}) for when, fields in steps]
    return lines


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _replay_both_ways(events: Path, protocol: Path, tmp_path: Path) -> list[bytes]:
    outputs = []
    for pure in ("1", "0"):
        out = tmp_path / f"out-{protocol.stem}-{pure}.jsonl"
        env = dict(os.environ, CHARTERDESK_PURE_PYTHON=pure, CHARTERDESK_REPLAY_WORKERS="1")
        command = [sys.executable, "-m", "charterdesk.replay_command", "--protocol", str(protocol)]
        subprocess.run([*command, str(events), "-o", str(out)], env=env, check=True, cwd=ROOT)
        outputs.append(out.read_bytes())
    return outputs


def test_compiled_and_plain_python_replays_are_byte_for_byte_the_same(tmp_path):
    """The same event log replayed by either engine gives the same output file: a generated log with
    tickets opened by agents, incidents linked and unlinked and several rules due at one instant, under
    the example protocol and under the same protocol with its rules reordered."""
    events = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_events.py"), "--events", "20000", "-o", str(events)],
        check=True,
        capture_output=True,
    )
    with events.open("a", encoding="utf-8") as log:
        log.write("\n".join(_incident_tickets(1500, seed=14)) + "\n")
    source = PROTOCOL.read_text(encoding="utf-8")
    start, end = source.index("\nescalation:\n") + 1, source.index("\nresolution:\n") + 1
    reordered = tmp_path / "reordered.protocol.yaml"
    reordered.write_text(source[:start] + REORDERED_RULES + source[end:], encoding="utf-8")
    for protocol in (PROTOCOL, reordered):
        outputs = _replay_both_ways(events, protocol, tmp_path)
        assert outputs[0].count(b"\n") > 4000
        assert outputs[0] == outputs[1], protocol.name
        tickets = [json.loads(line) for line in outputs[0].splitlines()]
        assert any(t["ticket"].startswith("I") and t["status"] == "open" for t in tickets)
        instants = [[e["at"] for e in t["escalations"]] for t in tickets]
        assert any(len(set(at)) < len(at) for at in instants), "no two rules fired at one instant"
