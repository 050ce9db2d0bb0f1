"""The Notebook model: options, access value, URL, and edits other servers must see."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from notebook_host.models import LiveSession, Notebook

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def row(**extra: object) -> Notebook:
    values = {"slug": "report", "title": "Report", "path": "test_app.py", **extra}
    return Notebook.objects.create(**values)


def live_session(notebook: Notebook | None, session_id: str = "s_1") -> LiveSession:
    return LiveSession.objects.create(
        session_id=session_id,
        notebook=notebook,
        label="/registered/report/",
        last_activity=timezone.now(),
        host="elsewhere",
        pid=12345,
    )


def test_defaults_and_options() -> None:
    notebook = row()
    assert notebook.enabled
    assert notebook.access_value() == "login"
    assert notebook.options() == {}
    assert notebook.created is not None and notebook.updated is not None
    notebook.include_code, notebook.session_ttl, notebook.show_tracebacks = True, 0, False
    assert notebook.options() == {"include_code": True, "session_ttl": 0, "show_tracebacks": False}
    assert row(slug="p", access="permission", permission="auth.view_user").access_value() == (
        "auth.view_user"
    )


def test_slug_is_unique() -> None:
    from django.db import IntegrityError

    row()
    with pytest.raises(IntegrityError):
        row(title="Other")


def test_absolute_url_follows_the_include() -> None:
    assert row().get_absolute_url() == "/registered/report/"


def test_a_group_change_counts_as_an_edit() -> None:
    notebook = row()
    before = Notebook.objects.get(pk=notebook.pk).updated
    group = Group.objects.create(name="sales")
    notebook.allowed_groups.add(group)
    after_add = Notebook.objects.get(pk=notebook.pk).updated
    assert after_add > before
    group.notebooks.remove(notebook)  # from the group's side
    assert Notebook.objects.get(pk=notebook.pk).updated > after_add


def test_disabling_flags_its_live_sessions_for_their_servers() -> None:
    notebook, other = row(), row(slug="other")
    live_session(notebook, "s_1")
    live_session(other, "s_2")
    notebook.enabled = False
    notebook.save()
    flagged = set(LiveSession.objects.filter(close_requested=True).values_list("session_id"))
    assert flagged == {("s_1",)}


def test_deleting_flags_its_live_sessions_before_the_link_goes() -> None:
    notebook = row()
    live_session(notebook)
    notebook.delete()
    session = LiveSession.objects.get()
    assert session.notebook is None
    assert session.close_requested


def test_prune_dead_drops_rows_of_ended_local_processes() -> None:
    from notebook_host.runtime import session_rows

    alive = live_session(None, "s_alive")
    alive.host, alive.pid = session_rows.HOST, os.getpid()
    alive.save()
    dead = live_session(None, "s_dead")
    dead.host, dead.pid = session_rows.HOST, 2**22 + 7  # above the default pid_max
    dead.save()
    live_session(None, "s_remote")  # another host: left alone
    assert session_rows.prune_dead() == 1
    assert set(LiveSession.objects.values_list("session_id", flat=True)) == {
        "s_alive",
        "s_remote",
    }
