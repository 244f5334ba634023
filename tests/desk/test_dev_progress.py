"""`python3 dev.py up` says what it is doing while it installs, step by step, instead of a silent minute."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _dev():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pip_output_becomes_one_line_per_package_and_phase():
    """Each package pip reaches is counted against the lock (an extra one package asks of another
    is not one more: never "[89/88]"); the long unpacking phase is announced; pip's other chatter
    is not shown."""
    dev = _dev()
    lines = [
        "Looking in indexes: somewhere",
        "Collecting django==5.2.19 (from -r requirements.lock (line 3))",
        "  Using cached django-5.2.19-py3-none-any.whl (8.3 MB)",
        "Requirement already satisfied: pyyaml==6.0.2 in ./.venv/lib/python3.11/site-packages (line 9)",
        "Processing /wheels/zopfli-0.2.3.whl",
        "Collecting fonttools[woff]>=4.59.2 (from weasyprint==68.1->-r requirements.lock (line 80))",
        "Installing collected packages: zopfli, django",
        "Successfully installed django-5.2.19 zopfli-0.2.3",
    ]
    shown, seen = [], 0
    for line in lines:
        text, seen = dev.pip_progress(line, seen, 3)
        if text:
            shown.append(text.strip())
    assert shown == [
        "[1/3] django==5.2.19",
        "[2/3] pyyaml==6.0.2 (already there)",
        "[3/3] zopfli-0.2.3.whl",
        "unpacking 2 packages into .venv (the longest step)",
        "installed",
    ]
    assert dev.locked_count() > 10


def test_the_demo_says_each_step_as_it_starts(demo):
    """The demo command names its steps (database, protocol and people, tickets) before each one."""
    out = io.StringIO()
    call_command("demo", "--load-only", "--tickets", "3", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    steps = ["Setting up the database", "Loading the Acme Outdoor Gear protocol", "Adding 3 demo tickets"]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
