"""The app registry: lazy building, caching, failure not cached, quiet option."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from notebook_host.marimo import files
from notebook_host.runtime.notebook_apps import AppRegistry
from notebook_host.targets.access import parse_rule
from notebook_host.targets.notebook import ServedNotebook
from tests.support.paths import NOTEBOOKS

NB = NOTEBOOKS


def notebook(file: Path, **options) -> ServedNotebook:
    return ServedNotebook(file=file, access=parse_rule("public", where="t"), options=options)


def test_app_built_once_and_cached() -> None:
    registry = AppRegistry()
    nb = notebook(NB / "app1.py")
    assert registry.peek(nb) is None
    first = registry.get(nb, base_url="/a")
    assert registry.get(nb, base_url="/a") is first
    assert registry.peek(nb) is first
    assert registry.loaded() == [first]


def test_failed_build_is_not_cached(tmp_path: Path) -> None:
    registry = AppRegistry()
    file = tmp_path / "later.py"
    nb = notebook(file)
    with pytest.raises(files.NotebookMissing):
        registry.get(nb, base_url="")
    file.write_text((NB / "app1.py").read_text())
    assert registry.get(nb, base_url="").path == file


@pytest.mark.parametrize(("quiet", "level"), [(False, logging.INFO), (True, logging.DEBUG)])
def test_quiet_silences_the_startup_line(caplog, quiet: bool, level: int) -> None:
    caplog.set_level(logging.DEBUG, logger="notebook_host.runtime.notebook_apps")
    AppRegistry().get(notebook(NB / "app2.py", quiet=quiet), base_url="/q")
    [record] = [r for r in caplog.records if "Serving app2.py at /q/" in r.getMessage()]
    assert record.levelno == level


async def test_shutdown_forgets_apps() -> None:
    registry = AppRegistry()
    registry.get(notebook(NB / "app1.py"), base_url="")
    await registry.shutdown(timeout=3)
    assert registry.loaded() == []


def test_evict_idle_drops_idle_apps_and_retired_ones(tmp_path: Path) -> None:
    registry = AppRegistry()
    file = tmp_path / "nb.py"
    file.write_text((NB / "app1.py").read_text())
    nb = notebook(file)
    first = registry.get(nb, base_url="")
    assert registry.evict_idle(idle_ttl=3600) == []
    # An edit retires the app; the next request builds a new one.
    file.write_text((NB / "app2.py").read_text())

    os.utime(file, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    second = registry.get(nb, base_url="")
    assert second is not first
    assert set(map(id, registry.loaded())) == {id(first), id(second)}
    # Retired with no session: evicted at once; current: only once idle.
    assert registry.evict_idle(idle_ttl=3600) == [first]
    assert registry.evict_idle(idle_ttl=0) == [second]
    assert registry.loaded() == []


async def test_sweep_runs_on_the_event_loop(settings) -> None:
    settings.NOTEBOOK_HOST = {**settings.NOTEBOOK_HOST, "APP_IDLE_TTL": 0.5}
    registry = AppRegistry()
    registry.get(notebook(NB / "app1.py"), base_url="")
    assert len(registry.loaded()) == 1
    for _ in range(40):
        await asyncio.sleep(0.1)
        if not registry.loaded():
            break
    assert registry.loaded() == []
