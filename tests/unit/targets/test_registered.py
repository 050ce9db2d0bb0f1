"""The registered-notebook target in-process: lookup, long-lived Notebook, group rule."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connections

from devtools.users import create_test_users
from notebook_host.models import Notebook as Row
from notebook_host.runtime import registered_sync
from notebook_host.runtime.notebook_apps import apps
from notebook_host.targets import registered
from notebook_host.targets.access import Decision, GroupRule, decide
from notebook_host.targets.notebook import SUBPATH_KWARG
from tests.support.paths import NOTEBOOKS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

APPS = NOTEBOOKS / "apps"


@pytest.fixture(autouse=True)
async def fresh_cache():
    registered.by_pk.clear()
    yield
    registered.by_pk.clear()
    # The async ORM's thread holds a connection; PostgreSQL's teardown needs it closed.
    await sync_to_async(close_thread_connections)()


def close_thread_connections() -> None:
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn._thread_ident != threading.get_ident():
            continue
        conn.close()


async def locate(slug: str, subpath: str | None = ""):
    return await registered.RegisteredNotebooks().alocate(
        {registered.SLUG_KWARG: slug, SUBPATH_KWARG: subpath}
    )


async def test_locate_finds_enabled_rows_only() -> None:
    row = await Row.objects.acreate(slug="report", title="Report", path="test_app.py")
    located = await locate("report", "api/kernel/x")
    assert located.notebook.file == APPS / "test_app.py"
    assert located.subpath == "api/kernel/x"
    assert located.path_params == {}
    assert await locate("nope") is None
    row.enabled = False
    await row.asave()
    assert await locate("report") is None


async def test_one_notebook_object_per_row_across_edits() -> None:
    row = await Row.objects.acreate(slug="report", title="Report", path="test_app.py")
    first = (await locate("report")).notebook
    assert (await locate("report")).notebook is first
    row.path, row.include_code = "secret_app.py", True
    await row.asave()
    second = (await locate("report")).notebook
    assert second is first  # the session directory keys on this object
    assert first.file == APPS / "secret_app.py"
    assert first.options == {"include_code": True}
    assert registered.registered_pk(first) == row.pk


async def test_a_new_source_retires_the_app_for_new_sessions() -> None:
    row = await Row.objects.acreate(slug="report", title="Report", path="test_app.py")
    notebook = (await locate("report")).notebook
    old_app = apps.get(notebook, base_url="/registered/report")
    assert apps.get(notebook, base_url="/registered/report") is old_app
    row.path = "secret_app.py"
    await row.asave()
    await locate("report")
    new_app = apps.get(notebook, base_url="/registered/report")
    assert new_app is not old_app
    assert new_app.path == APPS / "secret_app.py"
    assert old_app in apps.loaded()  # retired, still serving its sessions
    await apps.shutdown(timeout=5)


async def test_group_rule_composes_with_the_access_rule() -> None:
    await sync_to_async(create_test_users)()
    User = get_user_model()
    alice, bob, root, carol = [
        await User.objects.aget(username=name) for name in ("alice", "bob", "root", "carol")
    ]
    sales = await Group.objects.aget(name="sales")
    row = await Row.objects.acreate(slug="sales", title="Sales", path="test_app.py")
    await row.allowed_groups.aadd(sales)
    notebook = (await locate("sales")).notebook
    assert isinstance(notebook.access, GroupRule)
    assert await decide(carol, notebook) is Decision.ALLOW  # member
    assert await decide(bob, notebook) is Decision.ALLOW  # staff
    assert await decide(root, notebook) is Decision.ALLOW  # superuser
    assert await decide(alice, notebook) is Decision.NOT_FOUND
    assert await decide(AnonymousUser(), notebook) is Decision.LOGIN

    # The access rule still applies: superuser-only AND groups.
    row.access = "superuser"
    await row.asave()
    notebook = (await locate("sales")).notebook
    assert await decide(carol, notebook) is Decision.NOT_FOUND
    assert await decide(root, notebook) is Decision.ALLOW

    # Public AND groups: strangers must still sign in.
    row.access = "public"
    await row.asave()
    notebook = (await locate("sales")).notebook
    assert await decide(AnonymousUser(), notebook) is Decision.LOGIN
    await row.allowed_groups.aclear()
    notebook = (await locate("sales")).notebook
    assert await decide(AnonymousUser(), notebook) is Decision.ALLOW


async def test_a_source_gone_outside_the_allowed_folders_is_not_served(tmp_path: Path) -> None:
    from django.test import override_settings

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "nb.py").write_bytes((APPS / "test_app.py").read_bytes())
    (tmp_path / "outside.py").write_bytes((APPS / "test_app.py").read_bytes())
    with override_settings(NOTEBOOK_HOST={"ALLOWED_DIRS": [allowed]}):
        await Row.objects.acreate(slug="link", title="Link", path="link.py")
        assert await locate("link") is None  # no such file yet
        (allowed / "link.py").symlink_to(allowed / "nb.py")
        assert (await locate("link")).notebook.file == allowed / "nb.py"
        (allowed / "link.py").unlink()
        (allowed / "link.py").symlink_to(tmp_path / "outside.py")
        assert await locate("link") is None


def test_reserved_slugs() -> None:
    for slug in ("health", "openapi.json", "api", "static", "assets", "_x"):
        assert registered.slug_reserved(slug)
    assert not registered.slug_reserved("report")


async def test_the_listing_has_enabled_servable_rows() -> None:
    await Row.objects.acreate(slug="b", title="Beta", path="test_app.py")
    await Row.objects.acreate(slug="a", title="Alpha", path="secret_app.py")
    await Row.objects.acreate(slug="off", title="Off", path="test_app.py", enabled=False)
    await Row.objects.acreate(slug="gone", title="Gone", path="missing.py")
    listing = await registered.registered_entries()
    assert [(e.path, e.title) for e in listing.entries()] == [("a", "Alpha"), ("b", "Beta")]


async def test_the_poll_retires_rows_changed_elsewhere_and_forgets_idle_ones() -> None:
    from notebook_host.runtime import session_rows

    kept = await Row.objects.acreate(slug="kept", title="Kept", path="test_app.py")
    gone = await Row.objects.acreate(slug="gone", title="Gone", path="test_app.py")
    await locate("kept")
    await locate("gone")
    assert registered_sync.watch_rows in session_rows._watchers
    # Another process disables "gone" (a queryset update sends no signal).
    await Row.objects.filter(pk=gone.pk).aupdate(enabled=False)
    await registered_sync.watch_rows()
    assert set(registered.by_pk) == {kept.pk}
    # Unused for a while and without an app: dropped, and the poll stops watching.
    registered.by_pk[kept.pk].used -= registered.CACHE_IDLE_SECONDS + 1
    await registered_sync.watch_rows()
    await registered_sync.watch_rows()
    assert registered.by_pk == {}
    assert registered_sync.watch_rows not in session_rows._watchers
