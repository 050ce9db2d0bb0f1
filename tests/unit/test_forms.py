"""The admin form refuses every bad source, slug and permission, saving nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from notebook_host.forms import NotebookAdminForm
from notebook_host.models import Notebook
from tests.support.notebook_files import BROKEN, GOOD, MULTIPLE, NOT_MARIMO

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def form(files: dict | None = None, **data: object) -> NotebookAdminForm:
    values = {"slug": "report", "title": "Report", "access": "login", "enabled": True, **data}
    return NotebookAdminForm(data=values, files=files or {})


def upload(content: bytes = GOOD, name: str = "report.py") -> dict:
    return {"upload": SimpleUploadedFile(name, content, content_type="text/x-python")}


def stored_files() -> list[Path]:
    from django.conf import settings

    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_good_upload_is_saved_under_a_fresh_folder() -> None:
    f = form(upload())
    assert f.is_valid(), f.errors
    row = f.save()
    path = Path(row.upload.path)
    assert path.read_bytes() == GOOD
    assert path.name == "report.py"
    assert path.parent.parent.name == "report"  # <slug>/<fresh folder>/report.py
    second = form(upload(), slug="report2")
    assert second.is_valid(), second.errors
    assert Path(second.save().upload.path).parent != path.parent


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (GOOD, "report.txt", "is not a .py file"),
        (NOT_MARIMO, "report.py", "is not a marimo notebook"),
        (BROKEN, "report.py", "does not parse"),
        (MULTIPLE, "report.py", "multiple definitions of the name x"),
        (b"", "report.py", "empty"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_saved(
    content: bytes, name: str, message: str
) -> None:
    before = stored_files()
    f = form(upload(content, name))
    assert not f.is_valid()
    assert message in " ".join(f.errors["upload"])
    assert Notebook.objects.count() == 0
    assert stored_files() == before


def test_an_upload_over_the_limit_is_refused() -> None:
    with override_settings(NOTEBOOK_HOST={"MAX_UPLOAD_BYTES": 100}):
        f = form(upload())
        assert not f.is_valid()
    assert f"is {len(GOOD)} bytes; the limit is 100 bytes" in f.errors["upload"][0]


def test_a_path_inside_an_allowed_folder_is_accepted() -> None:
    f = form(path="test_app.py")
    assert f.is_valid(), f.errors
    assert f.save().path == "test_app.py"


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    """allowed/ with a good notebook, a symlink out, a text file; outside.py beside it."""
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "good.py").write_bytes(GOOD)
    (allowed / "notes.txt").write_bytes(GOOD)
    (allowed / "broken.py").write_bytes(BROKEN)
    (tmp_path / "outside.py").write_bytes(GOOD)
    (allowed / "escape.py").symlink_to(tmp_path / "outside.py")
    (allowed / "inner.py").symlink_to(allowed / "sub" / "good.py")
    with override_settings(NOTEBOOK_HOST={"ALLOWED_DIRS": [allowed]}):
        yield tmp_path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside.py", "is outside the folders"),
        ("sub/../../outside.py", "is outside the folders"),
        ("escape.py", "is outside the folders"),
        ("{tmp}/outside.py", "is outside the folders"),
        ("notes.txt", "is not a .py file"),
        ("sub", "is not a file"),
        ("missing.py", "does not exist"),
        ("broken.py", "does not parse"),
    ],
)
def test_bad_paths_are_refused(folders: Path, path: str, message: str) -> None:
    f = form(path=path.format(tmp=folders))
    assert not f.is_valid()
    assert message in f.errors["path"][0]
    assert Notebook.objects.count() == 0


@pytest.mark.parametrize("path", ["sub/good.py", "inner.py", "{tmp}/allowed/sub/good.py"])
def test_good_paths_and_links_inside_are_accepted(folders: Path, path: str) -> None:
    assert form(path=path.format(tmp=folders)).is_valid()


def test_paths_are_refused_when_no_folder_is_allowed() -> None:
    with override_settings(NOTEBOOK_HOST={"ALLOWED_DIRS": []}):
        f = form(path="test_app.py")
        assert not f.is_valid()
    assert "ALLOWED_DIRS" in f.errors["path"][0]


def test_exactly_one_source() -> None:
    neither = form()
    assert not neither.is_valid()
    assert "Upload a notebook file or give a path" in neither.errors["upload"][0]
    both = form(upload(), path="test_app.py")
    assert not both.is_valid()
    assert "not both" in both.errors["path"][0]


def test_a_slug_clash_is_refused() -> None:
    form(path="test_app.py").save()
    clash = form(path="test_app.py", title="Other")
    assert not clash.is_valid()
    assert "already exists" in clash.errors["slug"][0]
    assert Notebook.objects.count() == 1


@pytest.mark.parametrize("slug", ["health", "api", "static", "assets", "_private"])
def test_reserved_slugs_are_refused(slug: str) -> None:
    f = form(path="test_app.py", slug=slug)
    assert not f.is_valid()
    assert "reserved" in f.errors["slug"][0]


@pytest.mark.parametrize("slug", ["a/b", "a b", "..", "é"])
def test_slugs_must_be_url_safe(slug: str) -> None:
    assert "slug" in form(path="test_app.py", slug=slug).errors


def test_a_permission_rule_needs_an_existing_permission() -> None:
    assert "permission" in form(path="test_app.py", access="permission").errors
    missing = form(path="test_app.py", access="permission", permission="auth.fly")
    assert "There is no permission 'auth.fly'" in missing.errors["permission"][0]
    ok = form(path="test_app.py", access="permission", permission="auth.view_user")
    assert ok.is_valid(), ok.errors
    assert ok.save().access_value() == "auth.view_user"


def test_the_admin_says_uploads_run_code() -> None:
    assert "runs on this server" in str(form().fields["upload"].help_text)
    assert os.fspath(Notebook._meta.get_field("upload").help_text)


def test_query_parameters_name_a_form_or_model_that_imports() -> None:
    good = form(upload(), params="devtools.params_forms.ItemFilter")
    assert good.is_valid(), good.errors
    row = good.save()
    assert row.params == "devtools.params_forms.ItemFilter"
    assert row.unknown_params == "reject"  # left out: the default
    model = form(
        upload(), slug="r2", params="devtools.params_forms.ItemModel", unknown_params="drop"
    )
    assert model.is_valid(), model.errors


@pytest.mark.parametrize(
    ("dotted", "message"),
    [
        ("devtools.params_forms.NoSuchForm", "cannot be imported"),
        ("no_such_module.Form", "cannot be imported"),
        ("django.http.HttpRequest", "must be a django.forms.Form subclass"),
    ],
)
def test_bad_query_parameter_classes_are_refused(dotted: str, message: str) -> None:
    f = form(upload(), params=dotted)
    assert not f.is_valid()
    assert message in " ".join(f.errors["params"])
    assert not Notebook.objects.exists()
