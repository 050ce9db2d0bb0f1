"""Per-session memory and CPU of process kernels: read from /proc, written to the row."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notebook_host.marimo.isolation.usage import usage
from notebook_host.models import LiveSession
from notebook_host.runtime import session_directory, session_rows


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="/proc is Linux's")
def test_usage_reads_this_process() -> None:
    found = usage(os.getpid())
    assert found is not None
    memory, cpu = found
    assert 5 < memory < 4096 and cpu > 0
    assert usage(2**22 + 1) is None  # no such process


class App:
    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    def kernel_pid(self, session_id: str) -> int | None:
        return self.pid


@pytest.mark.django_db
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="/proc is Linux's")
@override_settings(NOTEBOOK_HOST={**settings.NOTEBOOK_HOST, "KERNEL_ISOLATION": "process"})
def test_the_poll_writes_a_process_kernel_s_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    records: dict[str, Any] = {
        "proc": SimpleNamespace(app=App(os.getpid())),
        "thread": SimpleNamespace(app=App(None)),
    }
    monkeypatch.setattr(
        session_directory, "directory", SimpleNamespace(lookup=lambda sid: records.get(sid))
    )
    for sid in ("proc", "thread"):
        LiveSession.objects.create(
            session_id=sid, label="/x/", last_activity=timezone.now(), host="h", pid=1
        )
        monkeypatch.setitem(
            session_rows._open, sid, session_rows.OpenSession(sid, consumer=None, notebook=None)
        )
    usages = session_rows._usage_updates()
    assert set(usages) == {"proc"}
    session_rows._sync_poll({}, usages)
    row = LiveSession.objects.get(session_id="proc")
    assert row.memory_mib is not None and row.memory_mib > 5 and row.cpu_seconds is not None
    assert LiveSession.objects.get(session_id="thread").memory_mib is None


@override_settings(NOTEBOOK_HOST={**settings.NOTEBOOK_HOST, "KERNEL_ISOLATION": "thread"})
def test_thread_kernels_cost_the_poll_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookup(session_id: str) -> None:
        raise AssertionError("no per-session lookup with thread kernels")

    monkeypatch.setattr(session_directory, "directory", SimpleNamespace(lookup=lookup))
    monkeypatch.setitem(
        session_rows._open, "t", session_rows.OpenSession("t", consumer=None, notebook=None)
    )
    assert session_rows._usage_updates() == {}
