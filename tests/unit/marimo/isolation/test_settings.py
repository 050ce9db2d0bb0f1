"""Kernel isolation: settings, checks, banner texts, the wire (processes: test_isolation_live)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from notebook_host.checks import check_isolation
from notebook_host.conf import get_config
from notebook_host.marimo.isolation import settings as isolation
from notebook_host.runtime.notebook_apps import isolation as isolation_of


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("KERNEL_ISOLATION", "processes", "must be 'thread' or 'process'"),
        ("SESSION_MEMORY_LIMIT", 0, "positive number or None"),
        ("SESSION_MEMORY_LIMIT", 1.5, "positive number or None"),
        ("CELL_TIMEOUT", -1, "positive number or None"),
        ("CELL_TIMEOUT", True, "positive number or None"),
    ],
)
def test_bad_isolation_settings_fail_loudly(key: str, value: object, message: str) -> None:
    with (
        override_settings(NOTEBOOK_HOST={key: value}),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        get_config()


def test_thread_is_the_default_and_shows_no_check() -> None:
    with override_settings(NOTEBOOK_HOST={}):
        assert isolation_of() == isolation.Isolation(
            mode="thread", memory_limit=512, cell_timeout=60
        )
        assert check_isolation() == []


def test_process_isolation_is_shown_by_check(monkeypatch: pytest.MonkeyPatch) -> None:
    with override_settings(NOTEBOOK_HOST={"KERNEL_ISOLATION": "process", "CELL_TIMEOUT": None}):
        (info,) = check_isolation()
        assert info.id == "notebook_host.I001"
        assert "SESSION_MEMORY_LIMIT = 512 MiB, CELL_TIMEOUT = none" in info.msg
        assert isolation_of().processes
        monkeypatch.setattr("notebook_host.checks.supported", lambda: False)
        monkeypatch.setattr("notebook_host.runtime.notebook_apps.supported", lambda: False)
        (warning,) = check_isolation()
        assert warning.id == "notebook_host.W006"
        assert isolation_of().mode == "thread"


def test_banners_name_the_limit() -> None:
    limits = isolation.Isolation(mode="process", memory_limit=200, cell_timeout=2.5)
    assert "SESSION_MEMORY_LIMIT = 200 MiB" in isolation.limit_sentence(isolation.MEMORY, limits)
    assert "CELL_TIMEOUT (2.5 s)" in isolation.limit_sentence(isolation.CELL_TIMEOUT, limits)
    assert isolation.limit_sentence(None, limits) is None
    assert "interrupted" in isolation.interrupt_sentence(limits)
