"""The CPython gh-106905 guard of the marimo boundary (notebook_host.marimo.patches).

On 3.11.0-3.11.7 and 3.12.0-3.12.1 concurrent ``ast.parse`` in threads fails
now and then; marimo's kernels are threads that parse and compile cells.
The guard retries a call the race failed, on those versions only. ``tests/support/ast_race.py``
makes the race show within seconds, so the stress tests can tell a guarded
interpreter from an unguarded one.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from marimo._ast import compiler  # the module whose compile the guard wraps

from notebook_host.marimo import patches
from tests.support.paths import ROOT

AFFECTED = patches.ast_race_affected()
# Unguarded, the race shows within seconds here: wait at most this long.
RACE_SECONDS = 20
# Guarded (or on a fixed interpreter), this long without an error.
CLEAN_SECONDS = 8
BLOCKED = 0.3
needs_affected = pytest.mark.skipif(not AFFECTED, reason="this interpreter has no gh-106905")
# tests/support/ast_race.py forces thread switches from a gc callback. Up to 3.11 a
# collection can run inside the AST conversion (on an allocation); from 3.12
# collections wait for the next bytecode, so nothing switches threads there
# and the race stays as rare as in production: the stress test needs 3.11.
needs_reproducible = pytest.mark.skipif(
    not AFFECTED or sys.version_info >= (3, 12),
    reason="the race is forced only where gc can run inside the AST conversion (3.11)",
)


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ((3, 10, 13), False),
        ((3, 11, 0), True),
        ((3, 11, 7), True),
        ((3, 11, 8), False),
        ((3, 12, 0), True),
        ((3, 12, 1), True),
        ((3, 12, 2), False),
        ((3, 13, 0), False),
        ((3, 14, 0), False),
    ],
)
def test_affected_versions(version: tuple[int, int, int], affected: bool) -> None:
    assert patches.ast_race_affected(version) is affected


def test_installed_exactly_on_affected_interpreters() -> None:
    patches.initialise()
    assert patches.ast_guard_installed() is AFFECTED
    assert patches.install_ast_guard() is AFFECTED


def test_not_installed_on_a_fixed_version_or_when_turned_off() -> None:
    assert patches.install_ast_guard(version=(3, 11, 8)) is False
    assert patches.install_ast_guard(environ={patches.AST_GUARD_ENV: "0"}) is False


def test_a_guarded_call_still_parses_and_compiles() -> None:
    patches.initialise()
    tree = ast.parse("x = [i * 2 for i in range(3)]")
    namespace: dict = {}
    # Guarded, marimo's compiler module has its own ``compile``; else the builtin.
    exec(getattr(compiler, "compile", compile)(tree, "<test>", "exec"), namespace)
    assert namespace["x"] == [0, 2, 4]
    with pytest.raises(SyntaxError):
        ast.parse("x = (")


def _flaky(failures: list[BaseException]):
    """A call that raises each of ``failures`` in turn, then answers."""
    calls = []

    def call(value: int) -> int:
        calls.append(value)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return value * 2

    return call, calls


RACE = SystemError("AST constructor recursion depth mismatch (before=3, after=5)")


def test_a_race_failure_is_tried_again() -> None:
    call, calls = _flaky([RACE, RecursionError("maximum recursion depth"), RACE])
    assert patches._retried(call)(21) == 42
    assert calls == [21, 21, 21, 21]


def test_other_errors_stand_at_once_and_a_lasting_race_in_the_end() -> None:
    call, calls = _flaky([SystemError("something else")])
    with pytest.raises(SystemError, match="something else"):
        patches._retried(call)(1)
    assert len(calls) == 1
    call, calls = _flaky([RACE] * patches.AST_RACE_TRIES)
    with pytest.raises(SystemError, match="mismatch"):
        patches._retried(call)(1)
    assert len(calls) == patches.AST_RACE_TRIES
    with pytest.raises(SyntaxError):  # not retried: not the race
        patches._retried(ast.parse)("x = (")


def test_parses_from_threads_do_not_wait_for_each_other() -> None:
    """The guard is no lock: a parse runs while another thread is inside one."""
    patches.initialise()
    inside, release = threading.Event(), threading.Event()

    def slow(value: int) -> int:
        inside.set()
        assert release.wait(10)
        return value

    guarded = patches._retried(slow)
    thread = threading.Thread(target=guarded, args=(1,))
    thread.start()
    assert inside.wait(10)
    done = threading.Event()
    other = threading.Thread(target=lambda: (ast.parse("a = 1"), done.set()))
    other.start()
    assert done.wait(BLOCKED + 5), "a parse waited for another thread's call"
    release.set()
    thread.join()
    other.join()


def race(guard: bool, seconds: float) -> dict:
    args = [sys.executable, "-m", "tests.support.ast_race", "--seconds", str(seconds)]
    env = {k: v for k, v in os.environ.items() if k != patches.AST_GUARD_ENV}
    result = subprocess.run(
        [*args, *(["--guard"] if guard else [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_reproducible
def test_without_the_guard_the_race_shows() -> None:
    start = time.monotonic()
    report = race(guard=False, seconds=RACE_SECONDS)
    assert report["guard"] is False
    assert report["errors"], f"no SystemError in {RACE_SECONDS} s: {report}"
    assert "recursion depth mismatch" in report["errors"][0]
    assert time.monotonic() - start < RACE_SECONDS + 30


@needs_affected
def test_with_the_guard_it_does_not() -> None:
    report = race(guard=True, seconds=CLEAN_SECONDS)
    assert report["guard"] is True
    assert report["compiles"] > 100, report
    assert report["errors"] == [], report


@pytest.mark.skipif(AFFECTED, reason="shows the unguarded race is absent on fixed interpreters")
def test_fixed_interpreters_need_no_guard() -> None:
    report = race(guard=False, seconds=CLEAN_SECONDS)
    assert report["errors"] == [], report


def guard_after_start(environ: dict[str, str]) -> bool:
    """Whether a fresh process has the guard once the ASGI application is built."""
    probe = (
        "import django; django.setup(); "
        "from notebook_host.asgi import get_asgi_application; get_asgi_application(); "
        "from notebook_host.marimo import patches; print(patches.ast_guard_installed())"
    )
    env = {k: v for k, v in os.environ.items() if k != patches.AST_GUARD_ENV}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.projects.default.settings", **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] == "True"


def test_the_server_installs_it_at_start_unless_turned_off() -> None:
    assert guard_after_start({}) is AFFECTED
    assert guard_after_start({patches.AST_GUARD_ENV: "0"}) is False
