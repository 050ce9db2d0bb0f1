"""Version matrix: the suite on Python 3.11-3.13 x Django 5.2 LTS / 6.0.

- ``nox -s tests`` (``make matrix``): every combination, the whole suite,
  then the model and admin tests on a throwaway PostgreSQL.
- ``nox -s subset`` (part of ``make test``, which runs the whole suite on
  ``.venv``'s Python 3.11 x Django 5.2): on two more combinations chosen so
  that each Python and each Django gets a run (3.12 x 6.0, 3.13 x 5.2), the
  unit tier and the live tests of the Django/Channels/daphne seams (views,
  consumers, ASGI start-up, shutdown, framing). The whole live tier takes
  ~13 minutes a run: the budget of a CI run does not hold it twice more, so
  the cluster, fault and other live tests run on the other combinations only
  in ``make matrix``.

Django 6.0 needs Python 3.12+, so Python 3.11 runs Django 5.2 only. Django
6.1 is left out because channels 4.3 does not declare it. Interpreters come
from the PATH or, where missing, from pyenv's versions folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
DJANGO = {"5.2": "5.2.19", "6.0": "6.0.10"}
# (python, django) pairs that can work: Django 6.0 requires Python >= 3.12.
COMBINATIONS = [
    ("3.11", "5.2"),
    ("3.12", "5.2"),
    ("3.12", "6.0"),
    ("3.13", "5.2"),
    ("3.13", "6.0"),
]
# make test runs the whole suite in .venv: Python 3.11 (the machine's default) x Django 5.2.
DEFAULT = ("3.11", "5.2")
# Tiers are markers of the test folders (tests/conftest.py). The subset runs
# tests/unit and the live seams below; browser, package, docs, benchmark and
# cluster tests and the PostgreSQL pass run once, on the default combination.
UNIT_TIER = ["-m", "unit"]
# The live tests of the seams a Python or Django release can break.
LIVE_SEAMS = [
    "tests/live/test_views_live.py",
    "tests/live/test_consumers_live.py",
    "tests/live/test_asgi_live.py",
    "tests/live/test_shutdown.py",
    "tests/live/test_embed_live.py",
]
# Combinations make test runs besides the default (each Python, each Django once).
IN_SUBSET = [("3.12", "6.0"), ("3.13", "5.2")]
# Installed for the whole suite, not needed by the subset's tests: benchmark
# plot and plain-marimo anchor, PostgreSQL driver, docs and build tools.
SUBSET_SKIPS = frozenset(
    {
        "matplotlib",
        "pillow",
        "uvicorn",
        "pyzmq",
        "psycopg[binary]",
        "mkdocs",
        "mkdocs-material",
        "build",
        "nox",
    }
)

nox.options.sessions = ["subset"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


def _add_pyenv_to_path() -> None:
    """Let nox find python3.X in pyenv's versions when the PATH has no such command."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(versions.glob("3.1[1-3].*/bin"), reverse=True)
    if found:
        os.environ["PATH"] = os.pathsep.join([*map(str, found), os.environ.get("PATH", "")])


_add_pyenv_to_path()


def _install(session: nox.Session, django: str, skip: frozenset[str] = frozenset()) -> None:
    """requirements.txt with its Django pin replaced, then this package (editable)."""
    pins = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if not line.lower().startswith("django==") and line.split("==")[0] not in skip
    ]
    requirements = Path(session.create_tmp()) / "requirements.txt"
    requirements.write_text("\n".join([*pins, f"Django=={DJANGO[django]}"]) + "\n")
    session.install("--quiet", "-r", str(requirements))
    session.install("--quiet", "--no-deps", "-e", str(ROOT))
    version = "import django, sys; print(sys.version, 'Django', django.__version__)"
    session.run("python", "-c", version)


def _pytest(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, *session.posargs)


@nox.session
@nox.parametrize("python,django", COMBINATIONS, ids=[f"{p}-django{d}" for p, d in COMBINATIONS])
def tests(session: nox.Session, django: str) -> None:
    """The whole suite, then the PostgreSQL pass, on one combination."""
    _install(session, django)
    _pytest(session)
    pytest = str(Path(session.bin) / "pytest")
    session.run(
        "python", "-m", "devtools.postgres", pytest, "-q", "-m", "postgres",
        "--ds=tests.projects.postgres.settings", "-p", "no:cacheprovider",
    )  # fmt: skip


SUBSET = [c for c in COMBINATIONS if c in IN_SUBSET]


@nox.session
@nox.parametrize("python,django", SUBSET, ids=[f"{p}-django{d}" for p, d in SUBSET])
def subset(session: nox.Session, django: str) -> None:
    """The unit tier and the live seams, on combinations where make test runs no full suite."""
    _install(session, django, SUBSET_SKIPS)
    _pytest(session, "tests/unit", *UNIT_TIER)
    _pytest(session, *LIVE_SEAMS)


if __name__ == "__main__":
    sys.exit("run it with nox: nox -s subset, nox -s tests")
