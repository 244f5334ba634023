"""The pure engines never import Django: they must run (and be tested) without it."""

import ast
from pathlib import Path

import pytest

PURE = ["charterdesk/protocol", "charterdesk/engine"]
ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_pure_packages_do_not_import_django():
    """No module of protocol/ or engine/ imports django or the desk's apps."""
    offenders = []
    for package in PURE:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imported_modules(path):
                top = name.split(".")[0]
                if top in ("django", "ninja", "django_tasks") or name.startswith(
                    ("charterdesk.desk", "charterdesk.accounts", "charterdesk.protocols", "charterdesk.audit")
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
