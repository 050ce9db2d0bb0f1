"""The route table: every route marimo registers is classified, and requests map to kinds."""

from __future__ import annotations

import pytest

from notebook_host.marimo.app import build_app, registered_routes
from notebook_host.marimo.routes import (
    CHECKS,
    KERNEL_API_ROUTES,
    Route,
    claimed,
    classify_registered,
    route_of,
)
from notebook_host.targets.options import NotebookOptions
from tests.support.paths import NOTEBOOKS

NB = NOTEBOOKS


@pytest.fixture(scope="module")
def marimo_routes() -> list[tuple[str, frozenset[str]]]:
    app = build_app(NB / "app1.py", NotebookOptions.resolve({}), base_url="")
    return registered_routes(app)


def test_every_registered_route_is_classified(marimo_routes: list) -> None:
    unclassified = sorted(path for path, _ in marimo_routes if classify_registered(path) is None)
    assert not unclassified, f"marimo routes the table does not classify: {unclassified}"
    # Enough routes were seen for the check to mean something.
    assert len(marimo_routes) > 100


def test_table_names_only_routes_marimo_registers(marimo_routes: list) -> None:
    registered = {path for path, _ in marimo_routes}
    allowed = {f"/{route}" for route in KERNEL_API_ROUTES}
    assert allowed <= registered, allowed - registered
    for path in ("/sse", "/ws_sync", "/ws", "/api/status/connections", "/api/home/workspace_files"):
        assert path in registered, path


def test_what_a_run_mode_page_uses_is_allowed(marimo_routes: list) -> None:
    kinds = {path: classify_registered(path) for path, _ in marimo_routes}
    assert kinds["/"] is Route.PAGE
    assert kinds["/ws"] is Route.SOCKET
    assert kinds["/api/kernel/set_ui_element_value"] is Route.KERNEL_API
    assert kinds["/@file/{filename_and_length:path}"] is Route.DOWNLOAD
    for refused in ("/sse", "/ws_sync", "/api/kernel/run", "/api/version", "/auth/login"):
        assert kinds[refused] is Route.REFUSED, refused
    # Every kernel API route a page may call is a POST in marimo.
    methods = dict(marimo_routes)
    for route in KERNEL_API_ROUTES:
        assert methods[f"/{route}"] == {"POST"}, route


@pytest.mark.parametrize(
    ("subpath", "kind"),
    [
        ("", Route.PAGE),
        ("ws", Route.SOCKET),
        ("api/kernel/set_ui_element_value", Route.KERNEL_API),
        ("api/export/html", Route.KERNEL_API),
        ("@file/12-345-abc.csv", Route.DOWNLOAD),
        ("assets/index-abc.js", Route.FRONTEND_FILE),
        ("favicon.ico", Route.FRONTEND_FILE),
        ("public/data.csv", Route.PUBLIC_FILE),
        ("public-files-sw.js", Route.PUBLIC_FILE),
        ("health", Route.HEALTH),
        ("sse", Route.REFUSED),
        ("ws_sync", Route.REFUSED),
        ("api/kernel/run", Route.REFUSED),
        ("api/kernel/set_ui_element_value/x", Route.REFUSED),
        ("api/status", Route.REFUSED),
        ("api/home/workspace_files", Route.REFUSED),
        ("og/thumbnail", Route.REFUSED),
        ("favicon.ico/x", Route.REFUSED),
        ("health/", Route.REFUSED),
        ("anything", Route.REFUSED),
    ],
)
def test_route_of(subpath: str, kind: Route) -> None:
    assert route_of(subpath) is kind
    assert claimed(subpath) is (kind is not Route.REFUSED)


def test_every_kind_says_its_checks() -> None:
    assert set(CHECKS) == set(Route)
