"""Build the compiled engine: ``python -m charterdesk.native`` (``dev.py`` runs it for you).

mypyc (shipped with mypy) compiles the engine modules named in
``charterdesk.engine.COMPILED`` from their own source into C extensions; see
charterdesk/engine/__init__.py for how a build is found and when it is used.
Building needs a C compiler and Python's headers; without them the engine
simply runs as plain Python, with the same results, about three times slower.

    python -m charterdesk.native            # build if the sources changed; prints what it did
    python -m charterdesk.native --status   # which engine a process would load, and why

The build runs in a scratch folder and is moved into place whole, so a failed
or interrupted build never leaves a half-made one to be loaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from charterdesk import engine

_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify

sources, out = sys.argv[1].split(","), sys.argv[2]
setup(
    name="charterdesk-engine-native",
    ext_modules=mypycify(sources, opt_level="3"),
    script_args=["build_ext", "--build-lib", out, "--build-temp", "tmp"],
)
"""


def missing() -> str | None:
    """Why this machine cannot build the compiled engine, or None when it can."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(compiler):
        return f"no C compiler ({compiler}) on the PATH"
    include = sysconfig.get_paths().get("include")
    if not include or not (Path(include) / "Python.h").exists():
        return "Python's headers (Python.h) are not installed (Debian: apt-get install python3-dev)"
    try:
        import mypyc.build  # noqa: F401
        import setuptools  # noqa: F401
    except ImportError as error:
        return f"{error.name} is not installed (pip install -r requirements.lock)"
    return None


def build(*, verbose: bool = False) -> tuple[Path | None, str]:
    """Build the compiled engine for the sources on disk unless it exists: (folder or None, what happened)."""
    if engine.pure_python_requested():
        return None, "CHARTERDESK_PURE_PYTHON is set: the engine runs as plain Python"
    target = engine.native_folder()
    if (target / "charterdesk" / "engine").is_dir():
        return target, f"the compiled engine is up to date ({target.name})"
    reason = missing()
    if reason:
        return None, f"the engine runs as plain Python (about 3x slower): {reason}"
    package = Path(engine.__file__).resolve().parent.parent
    sources = ",".join(f"charterdesk/engine/{name}.py" for name in engine.COMPILED)
    engine.NATIVE_ROOT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=engine.NATIVE_ROOT) as scratch:
        work = Path(scratch)
        # mypy resolves `charterdesk.*` from the working folder; a link to the package keeps the
        # generated C, mypy's cache and setuptools' own files out of the checkout.
        (work / "charterdesk").symlink_to(package, target_is_directory=True)
        staged = work / "out"
        result = subprocess.run(
            [sys.executable, "-c", _SETUP, sources, str(staged)],
            cwd=work,
            capture_output=not verbose,
            text=True,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()[-5:] if not verbose else []
            return None, "the compiled engine could not be built; running as plain Python\n" + "\n".join(
                detail
            )
        if engine.native_folder() != target:
            return None, "the engine sources changed during the build; run it again"
        staged.rename(target)
    for old in engine.NATIVE_ROOT.iterdir():
        if old != target and old.is_dir() and not old.name.startswith("build-"):
            shutil.rmtree(old, ignore_errors=True)
    return target, f"built the compiled engine ({target.name})"


def status() -> str:
    """One line: which engine a new process loads."""
    if engine.pure_python_requested():
        return "engine: plain Python (CHARTERDESK_PURE_PYTHON is set)"
    if engine.NATIVE:
        return f"engine: compiled ({Path(engine.NATIVE).name})"
    return "engine: plain Python (no compiled build for these sources: python -m charterdesk.native)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--status"]:
        print(status())
        return 0
    if args not in ([], ["--verbose"]):
        print(__doc__, file=sys.stderr)
        return 2
    _, said = build(verbose=args == ["--verbose"])
    print(said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
