"""Database models: notebooks registered in the admin, and live kernel sessions.

A registered :class:`Notebook` is served by ``include("notebook_host.urls")``
at ``<prefix>/<slug>/``. :class:`LiveSession` rows are written by the server
process holding the kernel, so other processes (``manage.py
notebook_sessions``, the admin of another server) can see sessions and ask
for them to be closed.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.urls import NoReverseMatch, reverse

from .sources import upload_storage

#: Access choices: those of ``notebook()`` that can be stored in a row.
ACCESS_CHOICES = [
    ("public", "Public: anyone, signed in or not"),
    ("login", "Signed-in users"),
    ("staff", "Staff users"),
    ("superuser", "Superusers"),
    ("permission", "Users with the permission below"),
]

UPLOAD_HELP = (
    "A marimo notebook (.py). Warning: a notebook is Python code that runs on this "
    "server with the server's rights. Only users with the notebook_host.add_notebook "
    "or change_notebook permission can upload or change one; grant them only to people "
    "you would let run code on this server."
)
PATH_HELP = (
    "Or a .py file inside one of the folders of NOTEBOOK_HOST['ALLOWED_DIRS'] "
    "(absolute, or relative to one of them). Its code runs on this server."
)


def upload_to(instance: Notebook, filename: str) -> str:
    """A new folder per upload: a changed notebook is a new file path.

    The app registry builds one marimo app per file, so new sessions get the
    new source while sessions already open keep the app they run in.
    """
    return f"{instance.slug}/{uuid.uuid4().hex[:12]}/{Path(filename).name}"


#: notebook_host.params.declarations.UNKNOWN_CHOICES, with words for the admin.
UNKNOWN_PARAMS_CHOICES = [
    ("reject", "Reject the request (400)"),
    ("drop", "Drop them (redirect without them)"),
    ("pass", "Pass them to the notebook unchecked"),
]


class Notebook(models.Model):
    """A marimo notebook registered in the admin and served by slug."""

    slug = models.SlugField(
        max_length=100,
        unique=True,
        help_text="The notebook's URL: <prefix>/<slug>/. Letters, digits, - and _.",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    upload = models.FileField(
        "uploaded file",
        upload_to=upload_to,
        storage=upload_storage,
        max_length=500,
        blank=True,
        help_text=UPLOAD_HELP,
    )
    path = models.CharField("path on the server", max_length=500, blank=True, help_text=PATH_HELP)
    enabled = models.BooleanField(
        default=True, help_text="Disabled notebooks answer 404 and their sessions are closed."
    )
    access = models.CharField(max_length=20, choices=ACCESS_CHOICES, default="login")
    permission = models.CharField(
        max_length=200,
        blank=True,
        help_text='For "Users with the permission": app_label.codename, e.g. reports.view_sales.',
    )
    allowed_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="notebooks",
        help_text="When set, only members of these groups (and staff and superusers) "
        "may open the notebook, on top of the access rule.",
    )
    include_code = models.BooleanField(
        null=True, blank=True, help_text="Show the notebook's code. Empty: the site default."
    )
    show_tracebacks = models.BooleanField(
        null=True, blank=True, help_text="Show tracebacks of failing cells. Empty: site default."
    )
    session_ttl = models.PositiveIntegerField(
        "session TTL",
        null=True,
        blank=True,
        help_text="Seconds a session outlives its closed browser tab. Empty: site default.",
    )
    params = models.CharField(
        "query parameters",
        max_length=300,
        blank=True,
        help_text="Dotted path to a django.forms.Form or pydantic.BaseModel class that "
        "checks the page's query parameters, e.g. myapp.forms.ItemFilter. Empty: none.",
    )
    unknown_params = models.CharField(
        "unknown parameters",
        max_length=10,
        choices=UNKNOWN_PARAMS_CHOICES,
        default="reject",
        help_text="What to do with query parameters the form does not declare (only with a form).",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["title", "slug"]
        permissions = [
            ("deploy_notebook", "Can deploy notebook code (upload, path and params)"),
        ]

    def __str__(self) -> str:
        return cast(str, self.title or self.slug)

    def access_value(self) -> str:
        """The ``access=`` value of ``notebook()`` this row stands for."""
        return cast(str, self.permission if self.access == "permission" else self.access)

    def options(self) -> dict[str, Any]:
        """Per-notebook option overrides (unset ones fall back to NOTEBOOK_HOST)."""
        values = {
            "include_code": self.include_code,
            "show_tracebacks": self.show_tracebacks,
            "session_ttl": self.session_ttl,
        }
        return {key: value for key, value in values.items() if value is not None}

    def source_label(self) -> str:
        return cast(str, self.upload.name if self.upload else self.path)

    def get_absolute_url(self) -> str | None:
        """The live URL, if the project includes notebook_host.urls."""
        try:
            return cast(str, reverse("notebook_host:notebook", kwargs={"slug": self.slug}))
        except NoReverseMatch:
            return None


class LiveSession(models.Model):
    """A kernel session with an open socket, as its server process reports it."""

    session_id = models.CharField(max_length=100, unique=True)
    #: Registered notebook, if the session belongs to one.
    notebook = models.ForeignKey(
        Notebook, null=True, blank=True, on_delete=models.SET_NULL, related_name="live_sessions"
    )
    #: What the session serves: the page path (any kind of notebook).
    label = models.CharField(max_length=500)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_activity = models.DateTimeField()
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    #: The notebook_worker running the kernel (KERNELS = "workers"); blank: the front.
    worker = models.CharField(max_length=255, blank=True, default="")
    #: Set by the admin or the command; the owning process closes the session.
    close_requested = models.BooleanField(default=False, db_index=True)
    #: With KERNEL_ISOLATION = "process": the session process's resident memory
    #: (MiB) and CPU seconds, refreshed by its server's poll; None: not measured.
    memory_mib = models.FloatField(null=True, blank=True)
    cpu_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["created"]
        indexes = [models.Index(fields=["host", "pid"])]

    def __str__(self) -> str:
        return f"{self.label} ({self.username or 'anonymous'})"
