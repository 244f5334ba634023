"""Every test says in its docstring what a user would notice, so a newcomer can read the suite as a
list of behaviours (Django's style: "A ticket opened Friday 17:55 is due Monday 09:25.")."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Fewer words than this is a name repeated, not a behaviour stated.
FEWEST_WORDS = 5


def undocumented(source: str, filename: str) -> list[str]:
    """The tests in ``source`` whose docstring is missing or too short to state a behaviour, as
    ``FILE:LINE: name`` (methods of test classes included)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith("test_"):
            continue
        words = (ast.get_docstring(node) or "").split()
        if len(words) < FEWEST_WORDS:
            found.append(f"{filename}:{node.lineno}: {node.name}")
    return found


def test_every_test_states_the_behaviour_it_checks():
    """Every test function under tests/ has a docstring of at least five words; the failure lists each
    one that lacks it as FILE:LINE: name."""
    missing = []
    for path in sorted(TESTS.rglob("test_*.py")):
        name = str(path.relative_to(TESTS.parent))
        missing += undocumented(path.read_text(encoding="utf-8"), name)
    assert missing == []


def test_a_test_without_a_docstring_is_named():
    """A test with no docstring, or with only 'Works.', is named by file and line; a documented test,
    a documented async test and a helper that is not a test pass."""
    source = (
        "def test_bare():\n    assert True\n\n"
        "def test_terse():\n    '''Works.'''\n\n"
        "def test_told():\n    '''A ticket opened Friday 17:55 is due Monday 09:25.'''\n\n"
        "async def test_told_async():\n    '''An async test is read the same way.'''\n\n"
        "def helper():\n    pass\n\n"
        "class TestGroup:\n    def test_method(self):\n        pass\n"
    )
    assert undocumented(source, "tests/x/test_example.py") == [
        "tests/x/test_example.py:1: test_bare",
        "tests/x/test_example.py:4: test_terse",
        "tests/x/test_example.py:17: test_method",
    ]
