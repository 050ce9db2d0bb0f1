"""Where a registered notebook's file comes from: an upload or an allowed folder.

Both end as a local path, because marimo reads the notebook from disk. A
path source is resolved on every use (symlinks followed), and refused when
it leaves every folder of ``NOTEBOOK_HOST["ALLOWED_DIRS"]``: a link swapped
to point elsewhere stops being served rather than serving the new target.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage, storages

from .conf import get_config
from .marimo import files


class SourceError(ValueError):
    """A notebook source that must not be served; the message says why."""


def upload_storage() -> Storage:
    """The storage uploaded notebooks are kept in (a local file system)."""
    alias = get_config()["UPLOAD_STORAGE"]
    if alias:
        return storages[alias]
    media = Path(settings.MEDIA_ROOT or Path(getattr(settings, "BASE_DIR", ".")) / "media")
    return FileSystemStorage(location=media / "notebooks", base_url=None)


def _base_dir() -> Path:
    return Path(getattr(settings, "BASE_DIR", None) or Path.cwd())


def configured_dirs() -> list[Path]:
    """ALLOWED_DIRS as given, made absolute against BASE_DIR."""
    dirs = get_config()["ALLOWED_DIRS"]
    if isinstance(dirs, str | os.PathLike):
        raise ImproperlyConfigured("NOTEBOOK_HOST['ALLOWED_DIRS'] must be a list of folders.")
    return [Path(entry) if Path(entry).is_absolute() else _base_dir() / entry for entry in dirs]


def allowed_dirs() -> list[Path]:
    """The folders path sources may point into, resolved (missing ones skipped)."""
    found = []
    for folder in configured_dirs():
        try:
            resolved = folder.resolve(strict=True)
        except OSError:
            continue
        if resolved.is_dir():
            found.append(resolved)
    return found


def resolve_path(value: str) -> Path:
    """The real file a path source names, or SourceError saying why not."""
    if not value or "\x00" in value:
        raise SourceError("Give a path to a .py file.")
    dirs = allowed_dirs()
    if not dirs:
        raise SourceError(
            "Paths on the server are not allowed here: NOTEBOOK_HOST['ALLOWED_DIRS'] "
            "lists no existing folder. Upload the file instead."
        )
    given = Path(value)
    candidates = [given] if given.is_absolute() else [folder / given for folder in dirs]
    for candidate in candidates:
        try:
            resolved = candidate.resolve(strict=True)
        except OSError:
            continue
        if not any(resolved.is_relative_to(folder) for folder in dirs):
            raise SourceError(
                f"{value} is outside the folders notebooks may be served from "
                "(symbolic links are followed)."
            )
        if not resolved.is_file():
            raise SourceError(f"{value} is not a file.")
        if resolved.suffix != ".py":
            raise SourceError(f"{value} is not a .py file.")
        return resolved
    raise SourceError(f"{value} does not exist in the allowed folders.")


def check_upload(upload: Any) -> files.NotebookInfo:
    """Check an uploaded file before anything is saved: name, size, notebook."""
    name = Path(upload.name or "").name
    if not name.endswith(".py"):
        raise SourceError(f"{name or 'The file'} is not a .py file.")
    limit = int(get_config()["MAX_UPLOAD_BYTES"])
    if upload.size is not None and upload.size > limit:
        raise SourceError(
            f"{name} is {upload.size} bytes; the limit is {limit} bytes "
            "(NOTEBOOK_HOST['MAX_UPLOAD_BYTES'])."
        )
    with tempfile.TemporaryDirectory(prefix="notebook-check-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        upload.seek(0)
        return check_file(path)


def check_file(path: Path) -> files.NotebookInfo:
    """marimo's static load of ``path``; SourceError with marimo's reason."""
    try:
        return files.load_notebook(path)
    except files.NotebookLoadError as exc:
        raise SourceError(str(exc)) from exc


def stored_file(upload_name: str) -> Path:
    """The local path of an uploaded notebook."""
    try:
        return Path(upload_storage().path(upload_name))
    except NotImplementedError as exc:
        raise ImproperlyConfigured(
            "NOTEBOOK_HOST['UPLOAD_STORAGE'] must be a local file system storage: "
            "marimo reads notebooks from disk."
        ) from exc
