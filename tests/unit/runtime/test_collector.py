"""Python's garbage collector after start-up: frozen start-up objects, raised thresholds."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from notebook_host.conf import get_config
from notebook_host.runtime import collector


@pytest.fixture
def python_gc() -> Iterator[None]:
    """Python's collector as it was, whatever the test did to it."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("python_gc")
def test_tune_freezes_start_up_and_sets_the_thresholds() -> None:
    gc.unfreeze()
    with override_settings(NOTEBOOK_HOST={"GC_THRESHOLD": (5000, 15, 12)}):
        collector.tune()
    assert gc.get_threshold() == (5000, 15, 12)
    assert gc.get_freeze_count() > 1000  # Django, marimo, the test run itself


@pytest.mark.usefixtures("python_gc")
def test_none_leaves_pythons_collector_alone() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    with override_settings(NOTEBOOK_HOST={"GC_THRESHOLD": None}):
        collector.tune()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_the_default_is_raised_thresholds() -> None:
    with override_settings(NOTEBOOK_HOST={}):
        assert get_config()["GC_THRESHOLD"] == (10_000, 20, 20)


@pytest.mark.parametrize("value", [(700, 10), (0, 10, 10), ("700", 10, 10), (True, 1, 1), 700])
def test_a_bad_threshold_fails_loudly(value: object) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"GC_THRESHOLD": value}),
        pytest.raises(ImproperlyConfigured, match="GC_THRESHOLD"),
    ):
        get_config()


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The full collections :mod:`collector` runs (recorded, not run), 10 ms after asked."""
    made: list[tuple[int, ...]] = []
    monkeypatch.setattr(collector, "COLLECT_AFTER", 0.01)
    monkeypatch.setattr(collector.gc, "collect", lambda *args: made.append(args))
    monkeypatch.setattr(collector, "_ended", 0)
    monkeypatch.setattr(collector, "_scheduled", None)
    return made


TUNED = {"GC_THRESHOLD": (5000, 15, 12)}


async def test_sessions_ending_together_share_one_full_collection(
    collections: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "COLLECT_AFTER", 0.05)
    with override_settings(NOTEBOOK_HOST=TUNED):
        for still_open in (2, 1, 0):
            collector.session_closed(still_open)
        assert collections == []  # not at once: the kernels are still finishing
        await asyncio.sleep(0.2)
        assert collections == [()]  # one full collection for the three
        collector.session_closed(0)
        await asyncio.sleep(0.2)
        assert collections == [(), ()]


async def test_a_busy_server_collects_once_a_quarter_of_its_sessions_ended(
    collections: list[tuple[int, ...]],
) -> None:
    with override_settings(NOTEBOOK_HOST=TUNED):
        for _ in range(24):  # 24 of 124 end: fewer than a quarter of the 100 left
            collector.session_closed(100)
        await asyncio.sleep(0.1)
        assert collections == []
        collector.session_closed(100)  # the 25th
        await asyncio.sleep(0.1)
        assert collections == [()]


async def test_with_pythons_thresholds_sessions_ending_collect_nothing_extra(
    collections: list[tuple[int, ...]],
) -> None:
    with override_settings(NOTEBOOK_HOST={"GC_THRESHOLD": None}):
        collector.session_closed(0)
        await asyncio.sleep(0.1)
    assert collections == []
