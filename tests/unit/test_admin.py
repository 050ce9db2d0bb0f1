"""The notebook admin through Django's test client: permissions, history, extras."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from notebook_host.models import LiveSession, Notebook
from tests.support.notebook_files import GOOD, NOT_MARIMO

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ADMIN = "/admin/notebook_host/notebook/"


def staff_client(*perms: str, superuser: bool = False) -> tuple[Client, object]:
    user = get_user_model().objects.create_user(
        "staffer", password="x", is_staff=True, is_superuser=superuser
    )
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client, user


def post_data(**extra: object) -> dict:
    return {
        "slug": "report",
        "title": "Report",
        "access": "login",
        "enabled": "on",
        "upload": SimpleUploadedFile("report.py", GOOD),
        **extra,
    }


def test_adding_needs_the_add_permission() -> None:
    client, _ = staff_client("view_notebook")
    assert client.get(ADMIN).status_code == 200
    assert client.get(ADMIN + "add/").status_code == 403
    assert client.post(ADMIN + "add/", post_data()).status_code == 403
    assert not Notebook.objects.exists()


def test_changing_needs_the_change_permission() -> None:
    notebook = Notebook.objects.create(slug="report", title="Report", path="test_app.py")
    client, _ = staff_client("view_notebook")
    response = client.post(f"{ADMIN}{notebook.pk}/change/", post_data(title="Changed"))
    assert response.status_code == 403
    assert Notebook.objects.get().title == "Report"


def test_an_add_is_saved_with_its_author_and_recorded_in_history() -> None:
    client, user = staff_client(
        "add_notebook", "change_notebook", "view_notebook", "deploy_notebook"
    )
    page = client.get(ADMIN + "add/").content.decode()
    assert "runs on this server" in page  # the warning next to the upload field
    response = client.post(ADMIN + "add/", post_data())
    assert response.status_code == 302
    notebook = Notebook.objects.get()
    assert notebook.created_by == user
    assert Path(notebook.upload.path).read_bytes() == GOOD
    entry = LogEntry.objects.get(object_id=str(notebook.pk))
    assert entry.action_flag == ADDITION and entry.user == user


def test_adding_needs_the_deploy_permission() -> None:
    client, _ = staff_client("add_notebook", "change_notebook", "view_notebook")
    assert client.get(ADMIN + "add/").status_code == 403
    assert client.post(ADMIN + "add/", post_data()).status_code == 403
    assert not Notebook.objects.exists()


def test_code_fields_are_read_only_without_the_deploy_permission(tmp_path: Path) -> None:
    notebook = Notebook.objects.create(slug="report", title="Report", path="test_app.py")
    client, _ = staff_client("change_notebook", "view_notebook")
    page = client.get(f"{ADMIN}{notebook.pk}/change/").content.decode()
    for name in ("upload", "path", "params"):
        assert f'name="{name}"' not in page, name
    response = client.post(
        f"{ADMIN}{notebook.pk}/change/",
        {
            **post_data(title="Renamed", upload=""),
            "path": "/etc/evil.py",
            "params": "os.system",
        },
    )
    assert response.status_code == 302
    saved = Notebook.objects.get()
    assert saved.title == "Renamed"  # ordinary fields still change
    assert (saved.path, saved.params, saved.upload.name) == ("test_app.py", "", "")


def test_the_deploy_permission_unlocks_the_code_fields() -> None:
    notebook = Notebook.objects.create(slug="report", title="Report", path="test_app.py")
    client, _ = staff_client("change_notebook", "view_notebook", "deploy_notebook")
    page = client.get(f"{ADMIN}{notebook.pk}/change/").content.decode()
    for name in ("upload", "path", "params"):
        assert f'name="{name}"' in page, name


def test_a_bad_upload_shows_the_reason_and_saves_nothing() -> None:
    client, _ = staff_client(superuser=True)
    response = client.post(
        ADMIN + "add/", post_data(upload=SimpleUploadedFile("report.py", NOT_MARIMO))
    )
    assert response.status_code == 200
    assert "report.py is not a marimo notebook" in response.content.decode()
    assert not Notebook.objects.exists()
    assert not LogEntry.objects.exists()


def test_the_list_shows_view_link_and_live_sessions() -> None:
    notebook = Notebook.objects.create(slug="report", title="Report", path="test_app.py")
    Notebook.objects.create(slug="off", title="Off", path="test_app.py", enabled=False)
    for n in range(2):
        LiveSession.objects.create(
            session_id=f"s_{n}",
            notebook=notebook,
            label="/registered/report/",
            last_activity=timezone.now(),
            host="h",
            pid=1,
        )
    client, _ = staff_client(superuser=True)
    page = client.get(ADMIN).content.decode()
    assert 'href="/registered/report/"' in page
    assert "view (disabled: 404)" in page
    assert '<td class="field-sessions">2</td>' in page
    assert '<td class="field-sessions">0</td>' in page


def test_the_close_action_flags_sessions_and_records_history() -> None:
    notebook = Notebook.objects.create(slug="report", title="Report", path="test_app.py")
    LiveSession.objects.create(
        session_id="s_1",
        notebook=notebook,
        label="/registered/report/",
        last_activity=timezone.now(),
        host="h",
        pid=1,
    )
    client, _ = staff_client(superuser=True)
    response = client.post(
        ADMIN, {"action": "close_sessions", "_selected_action": [notebook.pk]}, follow=True
    )
    assert "Closing the sessions of 1 notebook(s) (1 with an open socket)" in (
        response.content.decode()
    )
    assert LiveSession.objects.get().close_requested
    assert LogEntry.objects.get(action_flag=CHANGE).change_message == "Closed all live sessions."


def test_the_check_action_reports_each_notebook(tmp_path: Path) -> None:
    good = Notebook.objects.create(slug="good", title="Good", path="test_app.py")
    gone = Notebook.objects.create(slug="gone", title="Gone", path="no_such_file.py")
    client, _ = staff_client(superuser=True)
    response = client.post(
        ADMIN, {"action": "check_notebooks", "_selected_action": [good.pk, gone.pk]}, follow=True
    )
    page = response.content.decode()
    assert "Notebook good loads: Test App." in page
    assert "Notebook gone: no_such_file.py does not exist in the allowed folders." in page


def test_live_sessions_admin_lists_and_closes() -> None:
    LiveSession.objects.create(
        session_id="s_1",
        label="/apps/x/",
        username="alice",
        last_activity=timezone.now(),
        host="h",
        pid=1,
    )
    client, _ = staff_client(superuser=True)
    page = client.get("/admin/notebook_host/livesession/").content.decode()
    assert "/apps/x/" in page and "alice" in page
    assert client.get("/admin/notebook_host/livesession/add/").status_code == 403
    client.post(
        "/admin/notebook_host/livesession/",
        {"action": "close", "_selected_action": [LiveSession.objects.get().pk]},
    )
    assert LiveSession.objects.get().close_requested


def test_help_texts_show_as_written() -> None:
    client, _ = staff_client(superuser=True)
    html = client.get(ADMIN + "add/").content.decode()
    assert "URL: &lt;prefix&gt;/&lt;slug&gt;/." in html  # not "URL: / /"
    assert "Disabled notebooks answer 404" in html  # plain help texts unchanged
