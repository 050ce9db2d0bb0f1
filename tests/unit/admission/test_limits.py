"""notebook_host.admission.limits: counting, eviction of closed tabs, refusals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from notebook_host.admission import limits
from notebook_host.runtime.session_directory import (
    InProcessSessionDirectory,
    LocalRecord,
    SessionDirectory,
)
from notebook_host.targets.access import parse_rule
from notebook_host.targets.notebook import ServedNotebook

NB = ServedNotebook(
    file=Path("a.py"), access=parse_rule("public", where="t"), options={"session_ttl": 30}
)


@dataclass
class FakeApp:
    """Stands in for MarimoApp: which sessions marimo holds, which were closed."""

    live: set[str] = field(default_factory=set)
    closed: list[str] = field(default_factory=list)

    def session_ids(self) -> list[str]:
        return list(self.live)

    def close_session(self, session_id: str) -> bool:
        self.closed.append(session_id)
        self.live.discard(session_id)
        return True


def add(directory: SessionDirectory, app: FakeApp, sid: str, key: str, *, open_: bool) -> None:
    app.live.add(sid)
    directory.record(LocalRecord(session_id=sid, notebook=NB, app=app, limit_key=key))  # type: ignore[arg-type]
    directory.socket_opened(sid)
    if not open_:
        directory.socket_closed(sid)


@override_settings(NOTEBOOK_HOST={"MAX_SESSIONS": 3, "MAX_SESSIONS_PER_USER": 2})
def test_open_tabs_refuse_closed_tabs_are_evicted() -> None:
    directory, app = InProcessSessionDirectory(), FakeApp()
    add(directory, app, "a1", "user:1", open_=True)
    add(directory, app, "a2", "user:1", open_=False)
    # one open tab, one closed: a new one fits by closing a2
    assert limits.check(directory, "user:1") is None
    assert limits.admit(directory, "user:1") is None
    assert app.closed == ["a2"]
    add(directory, app, "a3", "user:1", open_=True)
    refusal = limits.check(directory, "user:1")
    assert refusal is not None and refusal.which == "user" and refusal.limit == 2
    assert refusal.retry_after == 120  # no closed tab: one default TTL
    assert "close a tab or retry in 120 s" in refusal.message
    # the process cap counts everybody's open tabs
    add(directory, app, "b1", "user:2", open_=True)
    refusal = limits.admit(directory, "user:3")
    assert refusal is not None and refusal.which == "process" and refusal.limit == 3


@override_settings(NOTEBOOK_HOST={"MAX_SESSIONS": 2, "MAX_SESSIONS_PER_USER": 5})
def test_process_cap_evicts_the_oldest_closed_tab_and_says_when() -> None:
    directory, app = InProcessSessionDirectory(), FakeApp()
    add(directory, app, "old", "user:1", open_=False)
    time.sleep(0.01)
    add(directory, app, "new", "user:2", open_=False)
    assert limits.admit(directory, "user:3") is None
    assert app.closed == ["old"]
    add(directory, app, "c", "user:3", open_=True)
    refusal = limits.check(directory, "user:4")
    assert refusal is None  # "new" is closed: admit would evict it
    add(directory, app, "d", "user:4", open_=True)
    refusal = limits.check(directory, "user:5")
    assert refusal is not None and refusal.which == "process"
    assert 1 <= refusal.retry_after <= 30  # "new" ends within its 30 s TTL


def test_closed_tab_leaves_when_marimo_drops_it() -> None:
    directory, app = InProcessSessionDirectory(), FakeApp()
    add(directory, app, "s", "user:1", open_=False)
    assert [r.session_id for r in directory.live()] == ["s"]
    app.live.clear()  # marimo's TTL ended
    assert directory.live() == []


def test_limit_keys() -> None:
    class User:
        is_authenticated = True
        pk = 7

    assert limits.limit_key(User(), "k") == "user:7"
    assert limits.limit_key(AnonymousUser(), "k") == "browser:k"
    assert limits.limit_key(AnonymousUser(), None) == "anonymous-without-cookie"


@pytest.mark.parametrize("bad", [0, -1, "10", 2.5, True])
def test_bad_limit_values_fail_loudly(bad) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"MAX_SESSIONS": bad}),
        pytest.raises(ImproperlyConfigured, match="MAX_SESSIONS"),
    ):
        limits.check(InProcessSessionDirectory(), "user:1")


def test_none_means_no_cap() -> None:
    directory, app = InProcessSessionDirectory(), FakeApp()
    with override_settings(NOTEBOOK_HOST={"MAX_SESSIONS": None, "MAX_SESSIONS_PER_USER": None}):
        for n in range(50):
            add(directory, app, f"s{n}", "user:1", open_=True)
        assert limits.admit(directory, "user:1") is None
