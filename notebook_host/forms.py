"""The admin form of a registered notebook: every bad input refused with a reason.

Nothing is saved unless the source is a readable marimo notebook (marimo's
own static load: no cell runs), the upload is a ``.py`` within
``MAX_UPLOAD_BYTES``, a path stays inside ``ALLOWED_DIRS`` and the slug is
free and not reserved for a fixed route.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import escape

from .models import Notebook
from .params.declarations import DEFAULT_UNKNOWN, NotebookParams
from .sources import SourceError, check_file, check_upload, resolve_path
from .targets.registered import RESERVED_SLUGS, slug_reserved

_DEFAULT_CHOICES = [("", "Site default"), ("true", "Yes"), ("false", "No")]


class NotebookAdminForm(forms.ModelForm):
    class Meta:
        model = Notebook
        fields = "__all__"
        widgets = {
            "upload": forms.ClearableFileInput(attrs={"accept": ".py"}),
            "include_code": forms.NullBooleanSelect(),
            "show_tracebacks": forms.NullBooleanSelect(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model's help texts are plain text ("<prefix>/<slug>/"); the admin
        # renders help text as HTML, where they would lose their <...> parts.
        for form_field in self.fields.values():
            form_field.help_text = escape(form_field.help_text)
        for name in ("include_code", "show_tracebacks"):
            if name in self.fields:
                self.fields[name].widget.choices = _DEFAULT_CHOICES
        if "unknown_params" in self.fields:  # only matters with a form: may be left out
            self.fields["unknown_params"].required = False

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if slug_reserved(slug):
            raise forms.ValidationError(
                f"{slug!r} is reserved for notebook_host's own routes "
                f"({', '.join(sorted(RESERVED_SLUGS))}, and anything starting with '_')."
            )
        return slug

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        # Without the deploy permission the admin shows the code-bearing fields
        # read-only: they are not in the form and keep their saved values.
        if "upload" in self.fields and "path" in self.fields:
            self._clean_source(data)
        self._clean_permission(data)
        if "params" in self.fields:
            self._clean_params(data)
        return data

    def _clean_source(self, data: dict[str, Any]) -> None:
        upload, path = data.get("upload"), (data.get("path") or "").strip()
        data["path"] = path
        if "upload" in self.errors:
            return
        if upload and path:
            self.add_error(
                "path",
                "Give either an uploaded file or a path, not both "
                "(tick 'Clear' on the upload to switch to a path).",
            )
        elif not upload and not path:
            self.add_error("upload", "Upload a notebook file or give a path on the server.")
        elif isinstance(upload, UploadedFile):
            try:
                check_upload(upload)
            except SourceError as exc:
                self.add_error("upload", str(exc))
        elif path:
            try:
                check_file(resolve_path(path))
            except SourceError as exc:
                self.add_error("path", str(exc))

    def _clean_params(self, data: dict[str, Any]) -> None:
        """The params class must import and be a Form or BaseModel, now, not at first visit."""
        dotted = (data.get("params") or "").strip()
        data["params"] = dotted
        data["unknown_params"] = data.get("unknown_params") or DEFAULT_UNKNOWN
        if not dotted:
            return
        try:
            NotebookParams(dotted, unknown=data["unknown_params"])
        except (ImproperlyConfigured, ImportError, ValueError, TypeError) as exc:
            self.add_error("params", str(exc))

    def _clean_permission(self, data: dict[str, Any]) -> None:
        permission = (data.get("permission") or "").strip()
        data["permission"] = permission
        if data.get("access") != "permission":
            return
        app_label, dot, codename = permission.partition(".")
        if not (dot and app_label and codename and "." not in codename):
            self.add_error("permission", "Give a permission as app_label.codename.")
        elif not Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).exists():
            self.add_error("permission", f"There is no permission {permission!r}.")
