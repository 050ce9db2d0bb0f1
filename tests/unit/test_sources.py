"""Notebook sources: the allowed folders, the upload storage, and their check."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.test import override_settings

from notebook_host import sources
from notebook_host.checks import check_allowed_dirs


def test_relative_folders_are_below_base_dir(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "file.txt").write_text("")
    with override_settings(
        BASE_DIR=tmp_path, NOTEBOOK_HOST={"ALLOWED_DIRS": ["nb", "missing", "file.txt"]}
    ):
        assert sources.allowed_dirs() == [(tmp_path / "nb").resolve()]
        warnings = check_allowed_dirs()
    assert [w.id for w in warnings] == ["notebook_host.W003", "notebook_host.W003"]
    assert "missing, which is not a folder" in warnings[0].msg


def test_a_single_string_is_refused() -> None:
    with (
        override_settings(NOTEBOOK_HOST={"ALLOWED_DIRS": "/srv/notebooks"}),
        pytest.raises(ImproperlyConfigured, match="must be a list"),
    ):
        sources.allowed_dirs()


def test_upload_storage_default_and_alias(tmp_path: Path) -> None:
    with override_settings(MEDIA_ROOT=tmp_path):
        storage = sources.upload_storage()
    assert isinstance(storage, FileSystemStorage)
    assert Path(storage.location) == tmp_path / "notebooks"
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "notebooks": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "elsewhere")},
        },
    }
    with override_settings(STORAGES=storages, NOTEBOOK_HOST={"UPLOAD_STORAGE": "notebooks"}):
        assert Path(sources.upload_storage().location) == tmp_path / "elsewhere"
