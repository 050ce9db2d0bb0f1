"""The admin of registered notebooks and their live sessions.

A notebook's source (upload, ``path``) and its ``params`` class are code
that runs as the server, so adding a notebook or changing those fields needs
``notebook_host.deploy_notebook`` on top of Django's ``add_notebook`` /
``change_notebook`` (superusers have every permission); other staff see them
read-only. Every change and action is written to the admin history.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from .forms import NotebookAdminForm
from .models import LiveSession, Notebook
from .runtime import session_rows
from .runtime.registered_sync import close_all, run_in_server
from .sources import SourceError, check_file
from .targets.registered import source_file

#: The permission that lets a user put code on the server through the admin.
DEPLOY_PERMISSION = "notebook_host.deploy_notebook"
#: The fields that are code: the notebook file, its path, the params class imported.
CODE_FIELDS = ("upload", "path", "params")


def _close_in_servers(notebooks: QuerySet[Notebook]) -> int:
    """Flag the rows (every server process) and close this process's at once."""
    flagged = session_rows.request_close(LiveSession.objects.filter(notebook__in=notebooks))
    for pk in notebooks.values_list("pk", flat=True):
        run_in_server(lambda pk=pk: close_all(pk))
    return flagged


@admin.register(Notebook)
class NotebookAdmin(admin.ModelAdmin):
    form = NotebookAdminForm
    list_display = ["title", "slug", "enabled", "access_rule", "source", "sessions", "view_link"]
    list_filter = ["enabled", "access", "allowed_groups"]
    search_fields = ["slug", "title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["allowed_groups"]
    readonly_fields = ["created", "updated", "created_by", "view_link"]
    actions = ["close_sessions", "check_notebooks"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "enabled", "view_link"]}),
        ("Source", {"fields": ["upload", "path"]}),
        ("Access", {"fields": ["access", "permission", "allowed_groups"]}),
        ("Options", {"fields": ["include_code", "show_tracebacks", "session_ttl"]}),
        ("Query parameters", {"fields": ["params", "unknown_params"]}),
        ("History", {"fields": ["created", "updated", "created_by"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notebook]:
        return super().get_queryset(request).annotate(live_count=Count("live_sessions"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        """A new notebook is new code: adding one needs the deploy permission."""
        return cast(
            bool, super().has_add_permission(request) and request.user.has_perm(DEPLOY_PERMISSION)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(DEPLOY_PERMISSION):
            fields += [name for name in CODE_FIELDS if name not in fields]
        return fields

    def save_model(self, request: HttpRequest, obj: Notebook, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="access")
    def access_rule(self, obj: Notebook) -> str:
        groups = ", ".join(g.name for g in obj.allowed_groups.all())
        return obj.access_value() + (f" + groups: {groups}" if groups else "")

    @admin.display(description="source")
    def source(self, obj: Notebook) -> str:
        return obj.source_label()

    @admin.display(description="live sessions", ordering="live_count")
    def sessions(self, obj: Notebook) -> int:
        count = getattr(obj, "live_count", None)
        return cast(int, obj.live_sessions.count() if count is None else count)

    @admin.display(description="view")
    def view_link(self, obj: Notebook) -> str:
        url = obj.get_absolute_url() if obj.pk else None
        if url is None:
            return "-"
        label = "view" if obj.enabled else "view (disabled: 404)"
        return cast(
            str, format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)
        )

    @admin.action(description="Close all live sessions of the selected notebooks")
    def close_sessions(self, request: HttpRequest, queryset: QuerySet[Notebook]) -> None:
        flagged = _close_in_servers(queryset)
        for obj in queryset:
            self.log_change(request, obj, "Closed all live sessions.")
        self.message_user(
            request,
            f"Closing the sessions of {queryset.count()} notebook(s) "
            f"({flagged} with an open socket).",
            messages.SUCCESS,
        )

    @admin.action(description="Check: load the selected notebooks and report errors")
    def check_notebooks(self, request: HttpRequest, queryset: QuerySet[Notebook]) -> None:
        for obj in queryset:
            try:
                info = check_file(source_file(obj))
            except SourceError as exc:
                self.message_user(request, f"Notebook {obj.slug}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request, f"Notebook {obj.slug} loads: {info.title}.", messages.SUCCESS
                )


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "notebook",
        "username",
        "created",
        "idle",
        "memory",
        "cpu",
        "host",
        "pid",
        "worker",
    ]
    list_filter = ["notebook", "host", "worker"]
    readonly_fields = [f.name for f in LiveSession._meta.fields]
    actions = ["close"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="idle")
    def idle(self, obj: LiveSession) -> str:
        return f"{int((timezone.now() - obj.last_activity).total_seconds())} s"

    @admin.display(description="memory")
    def memory(self, obj: LiveSession) -> str:
        """The session process's resident memory (KERNEL_ISOLATION = "process")."""
        return "—" if obj.memory_mib is None else f"{obj.memory_mib:.1f} MiB"

    @admin.display(description="CPU")
    def cpu(self, obj: LiveSession) -> str:
        """CPU seconds the session process has used (KERNEL_ISOLATION = "process")."""
        return "—" if obj.cpu_seconds is None else f"{obj.cpu_seconds:.1f} s"

    @admin.action(description="Close the selected sessions", permissions=["delete"])
    def close(self, request: HttpRequest, queryset: QuerySet[LiveSession]) -> None:
        count = session_rows.request_close(queryset)
        self.message_user(request, f"Asked the server to close {count} session(s).")
