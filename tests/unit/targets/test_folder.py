"""NotebookFolder: locating files below a folder, safely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from notebook_host.targets.access import parse_rule
from notebook_host.targets.folder import RELPATH_KWARG, NotebookFolder
from tests.support.paths import NOTEBOOKS

APPS = NOTEBOOKS / "apps"


@pytest.fixture
def folder(tmp_path: Path) -> NotebookFolder:
    root = tmp_path / "apps"
    shutil.copytree(APPS, root)
    (tmp_path / "outside.py").write_text((APPS / "test_app.py").read_text())
    (root / "escape.py").symlink_to(tmp_path / "outside.py")
    return NotebookFolder(
        root, route="apps/", access=parse_rule("public", where="t"), validate=None, options={}
    )


@pytest.mark.parametrize(
    ("rel", "file", "subpath"),
    [
        ("test_app", "test_app.py", None),
        ("test_app/", "test_app.py", ""),
        ("test_app/assets/x.js", "test_app.py", "assets/x.js"),
        ("nested/deep/deep_app/ws", "nested/deep/deep_app.py", "ws"),
        (
            "nested/nested_app/api/kernel/set_ui_element_value",
            "nested/nested_app.py",
            "api/kernel/set_ui_element_value",
        ),
    ],
)
def test_find(folder: NotebookFolder, rel: str, file: str, subpath: str | None) -> None:
    found = folder.find(rel)
    assert found is not None
    notebook, sub = found
    assert notebook.relative_path == file
    assert sub == subpath


@pytest.mark.parametrize(
    "rel",
    [
        "",
        "nonexistent/",
        "_hidden/",
        ".dotted/",
        "_private/inner/",
        "plain/",
        "notes/",
        "test_app.py/",
        "escape/",
        "../apps/test_app/",
        "nested/../test_app/",
        "nested\\..\\test_app/",
        "/etc/passwd/",
        "nested//nested_app/",
        "test_app\x00/",
        "test_app/other/",
    ],
)
def test_refused(folder: NotebookFolder, rel: str) -> None:
    assert folder.find(rel) is None


def test_same_file_same_notebook(folder: NotebookFolder) -> None:
    first = folder.find("test_app/")
    again = folder.find("test_app/health")
    assert first is not None and again is not None
    assert first[0] is again[0]


def test_locate_listing_and_redirect(folder: NotebookFolder) -> None:
    listing = folder.locate({RELPATH_KWARG: ""})
    assert listing is not None and listing.listing and listing.subpath == ""
    redirect = folder.locate({RELPATH_KWARG: None})
    assert redirect is not None and redirect.listing and redirect.subpath is None
    assert folder.locate({RELPATH_KWARG: "missing/"}) is None


def test_entries_skip_hidden_and_non_notebooks(folder: NotebookFolder) -> None:
    entries = {e.path: e.title for e in folder.entries()}
    assert entries["test_app"] == "Test App"
    assert entries["nested/deep/deep_app"] == "Deep App"
    assert entries["broken_app"] == "broken_app"  # listed, shown as an error page
    for hidden in ("_hidden", ".dotted", "_private/inner", "plain", "escape"):
        assert hidden not in entries


def test_missing_root_serves_nothing(tmp_path: Path) -> None:
    folder = NotebookFolder(
        tmp_path / "nope",
        route="x/",
        access=parse_rule("public", where="t"),
        validate=None,
        options={},
    )
    assert folder.find("a/") is None
    assert list(folder.entries()) == []
