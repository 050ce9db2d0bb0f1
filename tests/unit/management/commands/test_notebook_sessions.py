"""``manage.py notebook_sessions``: lists the rows servers write, flags closes."""

from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notebook_host.models import LiveSession, Notebook
from notebook_host.runtime import session_rows

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def rows() -> list[LiveSession]:
    notebook = Notebook.objects.create(slug="report", title="Report", path="test_app.py")
    now = timezone.now()
    made = []
    for sid, nb, user, age, idle in [
        ("s_a", notebook, "alice", 3700, 65),
        ("s_b", None, "", 30, 5),
    ]:
        row = LiveSession.objects.create(
            session_id=sid,
            notebook=nb,
            label="/apps/other/" if nb is None else "/registered/report/",
            username=user,
            last_activity=now - timedelta(seconds=idle),
            host=session_rows.HOST,
            pid=os.getpid(),
        )
        LiveSession.objects.filter(pk=row.pk).update(created=now - timedelta(seconds=age))
        made.append(row)
    return made


def run(*args: str) -> str:
    out = StringIO()
    call_command("notebook_sessions", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_lists_notebook_user_age_and_idle(rows: list[LiveSession]) -> None:
    lines = run().splitlines()
    assert lines[0].split() == ["SESSION", "NOTEBOOK", "USER", "AGE", "IDLE", "SERVER", "CLOSING"]
    a = next(line for line in lines if line.startswith("s_a"))
    b = next(line for line in lines if line.startswith("s_b"))
    assert a.split()[1:5] == ["report", "alice", "1h01m", "1m05s"]
    assert b.split()[1:5] == ["/apps/other/", "(anonymous)", "30s", "5s"]


def test_no_sessions() -> None:
    assert run() == "No live sessions.\n"


def test_close_by_id_notebook_or_all(rows: list[LiveSession]) -> None:
    assert "close 1 session(s)" in run("--close", "s_b")
    assert list(LiveSession.objects.filter(close_requested=True).values_list("session_id")) == [
        ("s_b",)
    ]
    run("--close-notebook", "report")
    assert LiveSession.objects.filter(close_requested=True).count() == 2
    LiveSession.objects.update(close_requested=False)
    run("--close-all")
    assert LiveSession.objects.filter(close_requested=True).count() == 2
    assert "yes" in run().splitlines()[1]


def test_close_of_an_unknown_session_fails() -> None:
    with pytest.raises(CommandError, match="No live session matches"):
        run("--close", "s_nope")


def test_wait_reports_sessions_nobody_closed(rows: list[LiveSession]) -> None:
    with pytest.raises(CommandError, match=r"1 session\(s\) still open after 0\.3s"):
        run("--close", "s_a", "--wait", "0.3")
