"""notebook_host.urls: notebook() is one URL pattern claiming a page and its sub-routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.checks.urls import check_url_config
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import Resolver404, URLPattern, resolve, reverse

from notebook_host.marimo import routes
from notebook_host.targets.access import AccessRule, CallableRule
from notebook_host.targets.notebook import SUBPATH_KWARG
from notebook_host.urls import NotebookRoutePattern, notebook
from tests.projects.default import urls as test_urls

NB = Path(__file__).parent.parent / "notebooks"


def spec(pattern: URLPattern):
    """The Notebook a pattern serves."""
    return pattern.callback.target


def match(pattern: URLPattern, path: str):
    return pattern.pattern.match(path)


@pytest.fixture
def dashboard() -> URLPattern:
    return notebook("dashboard/", NB / "app1.py", access="public", name="dashboard")


@pytest.fixture
def root() -> URLPattern:
    return notebook("", NB / "app2.py", access="public")


# notebook() -----------------------------------------------------------------


def test_notebook_returns_a_url_pattern(dashboard: URLPattern) -> None:
    assert isinstance(dashboard, URLPattern)
    assert isinstance(dashboard.pattern, NotebookRoutePattern)
    assert dashboard.name == "dashboard"
    assert str(dashboard.pattern) == "dashboard/"
    assert dashboard.pattern.check() == []
    nb = spec(dashboard)
    assert nb.file == (NB / "app1.py").resolve()
    assert nb.route == "dashboard/"
    assert nb.name == "dashboard"
    assert nb.access == AccessRule(label="public")
    assert nb.options == {}


def test_view_is_async_and_csrf_exempt(dashboard: URLPattern) -> None:
    import inspect

    assert inspect.iscoroutinefunction(dashboard.callback)
    assert dashboard.callback.csrf_exempt is True


def test_options_are_kept_on_the_notebook() -> None:
    pattern = notebook("x/", NB / "app1.py", include_code=True, session_ttl=0)
    assert spec(pattern).options == {"include_code": True, "session_ttl": 0}
    resolved = spec(pattern).resolved_options()
    assert resolved.include_code is True
    assert resolved.session_ttl == 0


# matching ---------------------------------------------------------------------


def test_page_without_slash_has_no_subpath(dashboard: URLPattern) -> None:
    assert match(dashboard, "dashboard") == ("", (), {SUBPATH_KWARG: None})


def test_page_with_slash_has_empty_subpath(dashboard: URLPattern) -> None:
    assert match(dashboard, "dashboard/") == ("", (), {SUBPATH_KWARG: ""})


@pytest.mark.parametrize(
    "subpath",
    [
        "assets/x.js",
        "assets/deep/er/x.css",
        "api/kernel/set_ui_element_value",
        "ws",
        "health",
        "favicon.ico",
        "public-files-sw.js",
        "@file/12-data.csv",
        "public/logo.png",
    ],
)
def test_marimo_sub_routes_match(dashboard: URLPattern, subpath: str) -> None:
    assert match(dashboard, f"dashboard/{subpath}") == ("", (), {SUBPATH_KWARG: subpath})


@pytest.mark.parametrize(
    "path",
    [
        "dashboard/other/",
        "dashboard/other",
        "dashboard/assetsx/x.js",
        "dashboard//assets/x.js",
        "dashboardx",
        "dashboardx/",
        "dashboardx/assets/x.js",
        "x/dashboard/",
        "",
        "assets/x.js",
    ],
)
def test_other_paths_do_not_match(dashboard: URLPattern, path: str) -> None:
    assert match(dashboard, path) is None


CLAIMED = [
    *sorted(routes.KERNEL_API_ROUTES),
    "ws",
    "health",
    "healthz",
    "assets/x.js",
    "favicon.ico",
    "@file/10-123-abc.csv",
    "public/logo.svg",
    "public-files-sw.js",
]


def test_every_sub_route_matches(dashboard: URLPattern) -> None:
    for subpath in CLAIMED:
        assert match(dashboard, f"dashboard/{subpath}") == ("", (), {SUBPATH_KWARG: subpath})


@pytest.mark.parametrize(
    "subpath",
    [
        "sse",
        "ws_sync",
        "api/status",
        "api/version",
        "api/kernel/run",
        "api/home/workspace_files",
        "og/thumbnail",
        "terminal/ws",
        "auth/login",
        "favicon.ico/x",
        "health/",
    ],
)
def test_refused_sub_routes_are_not_claimed(dashboard: URLPattern, subpath: str) -> None:
    assert match(dashboard, f"dashboard/{subpath}") is None


@pytest.mark.parametrize(
    "path", ["", "assets/x", "ws", "api/kernel/set_ui_element_value", "favicon.ico"]
)
def test_root_route_matches_its_page_and_sub_routes(root: URLPattern, path: str) -> None:
    assert match(root, path) == ("", (), {SUBPATH_KWARG: path})


@pytest.mark.parametrize("path", ["admin/", "other/", "admin", "dashboard/assets/x.js", "/"])
def test_root_route_does_not_shadow_other_paths(root: URLPattern, path: str) -> None:
    assert match(root, path) is None


def test_converters_give_kwargs() -> None:
    pattern = notebook("items/<int:pk>/", NB / "meta.py")
    assert match(pattern, "items/7/") == ("", (), {"pk": 7, SUBPATH_KWARG: ""})
    assert match(pattern, "items/7") == ("", (), {"pk": 7, SUBPATH_KWARG: None})
    _, _, kwargs = match(pattern, "items/42/api/kernel/function_call")
    assert kwargs == {"pk": 42, SUBPATH_KWARG: "api/kernel/function_call"}
    assert match(pattern, "items/x/") is None
    assert match(pattern, "items/7x/") is None
    assert match(pattern, "items/7/other/") is None
    assert match(pattern, "items/") is None


def test_route_without_trailing_slash_is_normalised() -> None:
    pattern = notebook("dash", NB / "app1.py")
    assert str(pattern.pattern) == "dash/"
    assert spec(pattern).route == "dash/"
    assert match(pattern, "dash") == ("", (), {SUBPATH_KWARG: None})
    assert match(pattern, "dash/") == ("", (), {SUBPATH_KWARG: ""})
    assert match(pattern, "dash/assets/x.js") == ("", (), {SUBPATH_KWARG: "assets/x.js"})
    assert match(pattern, "dashx") is None


def test_nested_route() -> None:
    pattern = notebook("reports/sales/", NB / "app1.py")
    assert match(pattern, "reports/sales/ws") == ("", (), {SUBPATH_KWARG: "ws"})
    assert match(pattern, "reports/sales") == ("", (), {SUBPATH_KWARG: None})
    assert match(pattern, "reports/") is None
    assert match(pattern, "reports/salesx/") is None


# configuration errors ---------------------------------------------------------


def test_route_starting_with_slash_raises() -> None:
    with pytest.raises(ImproperlyConfigured, match="route must not start with '/'") as excinfo:
        notebook("/dashboard/", "notebooks/dashboard.py")
    assert "notebook('/dashboard/', 'notebooks/dashboard.py')" in str(excinfo.value)


@pytest.mark.parametrize("access", ["admin", "a.b.c", 3])
def test_unknown_access_raises_naming_the_notebook(access: object) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        notebook("sales/", "notebooks/sales.py", access=access)
    message = str(excinfo.value)
    assert message.startswith("notebook('sales/', 'notebooks/sales.py')")
    assert repr(access) in message


def test_unknown_option_raises_naming_the_notebook() -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        notebook("sales/", "notebooks/sales.py", include_cod=True)
    message = str(excinfo.value)
    assert message.startswith("notebook('sales/', 'notebooks/sales.py')")
    assert "'include_cod'" in message


def test_mistyped_option_raises_naming_the_notebook() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^notebook\('sales/'.*'session_ttl'"):
        notebook("sales/", "notebooks/sales.py", session_ttl="5")


# access -----------------------------------------------------------------------


def test_access_defaults_to_setting() -> None:
    assert spec(notebook("x/", NB / "app1.py")).access == AccessRule(label="login")
    with override_settings(NOTEBOOK_HOST={"DEFAULT_ACCESS": "staff"}):
        assert spec(notebook("x/", NB / "app1.py")).access == AccessRule(label="staff")


def test_bad_default_access_raises_naming_the_notebook() -> None:
    with (
        override_settings(NOTEBOOK_HOST={"DEFAULT_ACCESS": "admin"}),
        pytest.raises(ImproperlyConfigured, match=r"^notebook\('x/', .*'admin'"),
    ):
        notebook("x/", NB / "app1.py")


def test_explicit_access_wins_over_setting() -> None:
    with override_settings(NOTEBOOK_HOST={"DEFAULT_ACCESS": "staff"}):
        assert spec(notebook("x/", NB / "app1.py", access="public")).access.label == "public"


def test_callable_access() -> None:
    pattern = notebook("x/", NB / "app1.py", access=test_urls.only_alice)
    rule = spec(pattern).access
    assert isinstance(rule, CallableRule)
    assert rule.test is test_urls.only_alice


# file paths -------------------------------------------------------------------


def test_relative_file_resolves_against_base_dir(settings, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path
    pattern = notebook("x/", "notebooks/dash.py")
    assert spec(pattern).file == (tmp_path / "notebooks" / "dash.py").resolve()
    pattern = notebook("y/", Path("dash.py"))
    assert spec(pattern).file == (tmp_path / "dash.py").resolve()


def test_relative_file_is_normalised(settings, tmp_path: Path) -> None:
    settings.BASE_DIR = str(tmp_path)
    assert spec(notebook("x/", "a/../b.py")).file == (tmp_path / "b.py").resolve()


def test_relative_file_without_base_dir_uses_cwd(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del settings.BASE_DIR
    monkeypatch.chdir(tmp_path)
    assert spec(notebook("x/", "dash.py")).file == (tmp_path / "dash.py").resolve()


def test_absolute_file_ignores_base_dir(settings, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path / "elsewhere"
    assert spec(notebook("x/", NB / "app1.py")).file == (NB / "app1.py").resolve()


def test_missing_file_is_not_an_error_at_import() -> None:
    # A missing notebook is a 404 page at request time, not a startup failure.
    assert spec(notebook("x/", NB / "missing.py")).file.name == "missing.py"


# resolve / reverse with tests/projects/default/urls.py ----------------------------------


def test_test_urlconf_passes_django_url_checks() -> None:
    assert check_url_config(None) == []


def test_reverse() -> None:
    assert reverse("app1") == "/app1/"
    assert reverse("item", kwargs={"item": 7}) == "/items/7/"
    assert reverse("root-first") == "/first/"
    assert reverse("root-last") == "/last/"


def test_resolve_page() -> None:
    found = resolve("/app1/")
    assert found.url_name == "app1"
    assert found.kwargs == {SUBPATH_KWARG: ""}
    assert found.func.target.file.name == "app1.py"


def test_resolve_page_without_slash() -> None:
    found = resolve("/app1")
    assert found.url_name == "app1"
    assert found.kwargs == {SUBPATH_KWARG: None}


def test_resolve_sub_route() -> None:
    found = resolve("/app2/api/kernel/set_ui_element_value")
    assert found.func.target.file.name == "app2.py"
    assert found.kwargs == {SUBPATH_KWARG: "api/kernel/set_ui_element_value"}


def test_resolve_with_converter() -> None:
    found = resolve("/items/7/ws")
    assert found.url_name == "item"
    assert found.kwargs == {"item": 7, SUBPATH_KWARG: "ws"}


def test_resolve_unknown_sub_route_is_404() -> None:
    with pytest.raises(Resolver404):
        resolve("/app1/other/")
    with pytest.raises(Resolver404):
        resolve("/app1x/")


def test_resolve_plain_view_next_to_notebooks() -> None:
    assert resolve("/plain/").func is test_urls.plain_view


@pytest.mark.parametrize("prefix", ["first", "last"])
def test_root_notebook_does_not_shadow_later_or_earlier_patterns(prefix: str) -> None:
    other = resolve(f"/{prefix}/other/")
    assert other.func is test_urls.plain_view
    app1 = resolve(f"/{prefix}/app1/")
    assert app1.func.target.file.name == "app1.py"
    assert app1.kwargs == {SUBPATH_KWARG: ""}


@pytest.mark.parametrize("prefix", ["first", "last"])
def test_root_notebook_serves_its_page_and_sub_routes(prefix: str) -> None:
    page = resolve(f"/{prefix}/")
    assert page.url_name == f"root-{prefix}"
    assert page.func.target.file.name == "app2.py"
    assert page.kwargs == {SUBPATH_KWARG: ""}
    asset = resolve(f"/{prefix}/assets/index.js")
    assert asset.url_name == f"root-{prefix}"
    assert asset.kwargs == {SUBPATH_KWARG: "assets/index.js"}
    assert resolve(f"/{prefix}/ws").kwargs == {SUBPATH_KWARG: "ws"}


def test_root_notebook_does_not_swallow_unknown_paths() -> None:
    with pytest.raises(Resolver404):
        resolve("/first/nothing-here/")


def test_page_and_websocket_resolve_to_the_same_notebook() -> None:
    page = resolve("/meta/")
    ws = resolve("/meta/ws")
    assert page.func.target is ws.func.target


@pytest.mark.parametrize("helper", ["notebook", "notebook_directory"])
def test_path_converter_is_refused(helper: str) -> None:
    from notebook_host import urls

    with pytest.raises(ImproperlyConfigured, match="<path:> converter"):
        getattr(urls, helper)("docs/<path:p>/", "x.py")


def test_directory_route_must_not_be_empty() -> None:
    from notebook_host.urls import notebook_directory

    with pytest.raises(ImproperlyConfigured, match="must not be empty"):
        notebook_directory("", "apps")


@pytest.mark.parametrize(
    "path", ["api/items/", "public/terms/", "health/", "logo.png", "public/inner/"]
)
@pytest.mark.parametrize(
    "urlconf", ["tests.projects.root_first.urls", "tests.projects.default.urls"]
)
def test_root_notebook_listed_first_yields_marimo_like_paths(urlconf: str, path: str) -> None:
    prefix = "/" if urlconf.endswith("root_first.urls") else "/first/"
    with override_settings(ROOT_URLCONF=urlconf):
        assert resolve(prefix + path).func is test_urls.plain_view
        # Positive control: marimo's own paths of that root notebook still reach it.
        for own in ("api/kernel/set_ui_element_value", "health", "public/x.png", "assets/a.js"):
            assert resolve(prefix + own).url_name == "root-first", own
