"""The pure engines never import Django: they must run (and be tested) without it."""

import ast
from pathlib import Path

import pytest

PURE = ["charterdesk/protocol", "charterdesk/engine"]
ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path, package: str = "") -> set[str]:
    """The modules a file imports, anywhere in it; relative imports resolved against ``package``
    (the file's own dotted name), when given."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level and package:
            base = package.split(".")
            base = base[: len(base) - node.level]
            names.add(".".join([*base, node.module] if node.module else base))
    return names


def test_pure_packages_do_not_import_django():
    """No module of protocol/ or engine/ imports django or the desk's apps."""
    offenders = []
    for package in PURE:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imported_modules(path):
                top = name.split(".")[0]
                if top in ("django", "ninja", "django_tasks") or name.startswith(
                    ("charterdesk.desk", "charterdesk.accounts", "charterdesk.library", "charterdesk.audit")
                ):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_demo_protocol_is_the_shared_example():
    """The demo ships the example protocol from the shared specs, unchanged."""
    shared = ROOT.parent / "shared" / "specs" / "examples" / "acme-outdoor.protocol.yaml"
    if not shared.exists():
        pytest.skip("no ../shared beside this checkout")
    ours = ROOT / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"
    assert ours.read_text() == shared.read_text()


# --------------------------------------------------------------------------- floors

# docs/architecture.md, "Floors": an app imports only from its own floor or below, and never
# in a circle. Within a floor the order below is the order of dependence (an app may import
# those listed before it on its floor). The families to come (refunds, knowledge, surveys,
# reports, training, incidents, privacy) stand on floor 4 beside channels.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("__init__", "protocol", "engine"),
    ("core", "audit", "accounts", "library", "notifications"),
    ("tickets",),
    (
        "channels",
        "checks",
        "refunds",
        "knowledge",
        "surveys",
        "reports",
        "training",
        "incidents",
        "privacy",
        "whatif",
    ),
    (
        "api",
        "portal",
        "handbook",
        "demo",
        "worker",
        "native",
        "command_files",
        "replay_command",
        "messages_command",
        "kpi_command",
        "whatif_command",
        "cli",
        "__main__",
    ),
    ("desk",),
)
PLACE = {app: (floor, order) for floor, apps in enumerate(FLOORS) for order, app in enumerate(apps)}


def app_of(module: str) -> str | None:
    """'charterdesk.tickets.models' -> 'tickets'; None outside the package."""
    parts = module.split(".")
    return parts[1] if parts[0] == "charterdesk" and len(parts) > 1 else None


def upward_imports(root: Path) -> list[str]:
    """Every import (at the top of a module or inside a function) of an app on a higher floor,
    or of an app later on the same floor; migrations are left out (Django writes them)."""
    found = []
    package = root / "charterdesk"
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if "migrations" in relative.parts or "_native" in relative.parts:
            continue
        here = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if here not in PLACE:
            found.append(f"{relative}: the app '{here}' stands on no floor (add it to FLOORS)")
            continue
        for name in sorted(
            imported_modules(path, package=f"charterdesk.{'.'.join(relative.with_suffix('').parts)}")
        ):
            there = app_of(name)
            if there is None or there == here:
                continue
            if there not in PLACE:
                found.append(f"{relative} imports {name}: '{there}' stands on no floor")
            elif PLACE[there] > PLACE[here]:
                found.append(f"charterdesk/{relative} imports {name}, which stands above it")
    return found


def test_no_app_imports_upward():
    """No module imports an app on a higher floor, or a later app of its own floor, so the apps'
    import graph has no circle and the ticket domain knows nothing of channels or families."""
    assert upward_imports(ROOT) == []


def test_an_upward_import_is_caught(tmp_path):
    """The floors test fails on a deliberate upward import: tickets importing channels."""
    import shutil

    shutil.copytree(ROOT / "charterdesk", tmp_path / "charterdesk", ignore=shutil.ignore_patterns("_native"))
    models = tmp_path / "charterdesk" / "tickets" / "models.py"
    models.write_text(
        models.read_text() + "\n\ndef _x():\n    from charterdesk.channels.models import Mailbox\n"
    )
    assert upward_imports(tmp_path) == [
        "charterdesk/tickets/models.py imports charterdesk.channels.models, which stands above it"
    ]
