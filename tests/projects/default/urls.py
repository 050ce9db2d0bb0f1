"""The test URLconf: one notebook per behaviour under test."""

import os
from pathlib import Path

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import include, path

from devtools.params_forms import ItemFilter, ItemModel, Region
from notebook_host.urls import notebook, notebook_directory

NB = Path(__file__).parents[2] / "notebooks"
# The live server works on copies it may change; in-process tests read these.
APPS = Path(os.environ.get("NOTEBOOK_HOST_TEST_APPS", NB / "apps"))
SWAP = Path(os.environ.get("NOTEBOOK_HOST_TEST_SWAP", NB / "apps"))


def plain_view(request):
    return HttpResponse("plain django view")


def embed_host(request):
    """A page of the site framing notebooks with {% notebook %} (tests/*/test_embed*.py)."""
    return render(request, "embed/host.html", {"bad": {"limit": 0}})


def embed_foreign(request):
    """A page framing ``?src=`` as another site would (the browser must refuse)."""
    return render(request, "embed/foreign.html", {"src": request.GET.get("src", "")})


def only_alice(user, notebook):
    return user.username == "alice"


async def only_carol(user, notebook):
    return user.username == "carol"


def refuse(user, notebook):
    raise PermissionDenied("nope")


def hide(user, notebook):
    raise Http404("hidden")


def hide_secrets(request_or_scope, relative_path: str) -> bool:
    return not relative_path.startswith("secret")


async def block_some(request_or_scope, relative_path: str) -> bool:
    if relative_path.startswith("blocked"):
        raise PermissionDenied("blocked by validate")
    return not relative_path.startswith("secret")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("plain/", plain_view, name="plain"),
    path("embed/host/", embed_host, name="embed-host"),
    path("embed/foreign/", embed_foreign),
    notebook("grow/", NB / "grow.py", access="public", name="grow"),
    # tests/browser/test_viewer_notices_browser.py
    notebook("slow/", NB / "slow.py", access="public"),
    notebook("needsmodule/", NB / "needs_module.py", access="public"),
    notebook("app1/", NB / "app1.py", access="public", name="app1"),
    notebook("app2/", NB / "app2.py", access="public", name="app2"),
    notebook("default/", NB / "app1.py"),
    notebook("meta/", NB / "meta.py", access="login", name="meta"),
    notebook("public-meta/", NB / "meta.py", access="public"),
    notebook("items/", NB / "items.py", access="public", params=ItemFilter, name="items"),
    notebook("pyitems/", NB / "items.py", access="public", params=ItemModel),
    notebook("loose/", NB / "items.py", access="public", params=ItemFilter, unknown_params="pass"),
    notebook(
        "dropping/", NB / "items.py", access="public", params=ItemFilter, unknown_params="drop"
    ),
    notebook(
        "login-items/",
        NB / "items.py",
        access="login",
        params="devtools.params_forms.ItemFilter",
    ),
    notebook_directory(
        "paramapps/", APPS, access="public", params={"nested/*": Region, "test_app.py": ItemFilter}
    ),
    notebook("items/<int:item>/", NB / "meta.py", access="login", name="item"),
    notebook("staff/", NB / "app1.py", access="staff"),
    notebook("super/", NB / "app1.py", access="superuser"),
    notebook("perm/", NB / "app1.py", access="auth.view_user"),
    notebook("alice/", NB / "app1.py", access=only_alice),
    notebook("carol/", NB / "app1.py", access=only_carol),
    notebook("refuse/", NB / "app1.py", access=refuse),
    notebook("hide/", NB / "app1.py", access=hide),
    notebook("code/", NB / "app1.py", access="public", include_code=True),
    notebook(
        "head/",
        NB / "app1.py",
        access="public",
        html_head='<meta name="nh-test" content="injected">',
    ),
    notebook("noskew/", NB / "app1.py", access="public", skew_protection=False),
    notebook("console/", NB / "console.py", access="public", redirect_console_to_browser=True),
    notebook("noconsole/", NB / "console.py", access="public"),
    notebook("tracebacks/", NB / "fails.py", access="public", show_tracebacks=True),
    notebook("notracebacks/", NB / "fails.py", access="public"),
    notebook("ttl0/", NB / "app1.py", access="public", session_ttl=0),
    notebook("faults/", NB / "faults.py", access="public"),
    notebook("faults-login/", NB / "faults.py", access="login"),
    notebook("frames/", NB / "frames.py", access="public"),
    notebook("faults-ttl4/", NB / "faults.py", access="login", session_ttl=4),
    # Written and deleted by tests/live/test_faults_live.py while sessions run.
    notebook("volatile/", APPS / "volatile.py", access="public"),
    notebook("broken/", NB / "broken.py", access="public"),
    notebook("missing/", NB / "missing.py", access="public"),
    notebook("notmarimo/", NB / "not_marimo.py", access="public"),
    notebook_directory("apps/", APPS, access="public", name="apps"),
    notebook_directory("private/", APPS, access="login"),
    notebook_directory("staffapps/", APPS, access="staff"),
    notebook_directory("validated/", APPS, access="public", validate=hide_secrets),
    notebook_directory("avalidated/", APPS, access="public", validate=block_some),
    notebook_directory("swap/", SWAP, access="public"),
    # tests/live/test_replay_local_live.py: a kernel gone as its socket closes.
    notebook_directory("ttl0apps/", APPS, access="public", session_ttl=0),
    path("sub/", include([notebook_directory("mounted/", APPS, access="public")])),
    # notebook_host.urls: registered notebooks, openapi.json, health/.
    path("registered/", include("notebook_host.urls")),
    path("first/", include("tests.projects.root_first.urls")),
    path("last/", include("tests.projects.root_last.urls")),
]
