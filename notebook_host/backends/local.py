"""The local backend: kernels run in the server process that opened them.

A session lives in this process's :mod:`notebook_host.runtime.session_directory`
and in a marimo app of :mod:`notebook_host.runtime.notebook_apps` (a thread
per session, or a forked process with ``KERNEL_ISOLATION = "process"``). A
socket is admitted and opened by
:class:`notebook_host.transports.websocket.NotebookConsumer`
(:mod:`.opening` counts it against the limits and records it); API calls and
downloads are served by the app in this process.
"""

from __future__ import annotations

from typing import Any

from ..admission.kernel_call import admit_kernel_call
from ..admission.refusals import Refused
from ..closecodes import SIGNED_OUT
from ..metrics import record as metrics
from ..runtime import replay, session_directory, session_rows
from ..runtime.notebook_apps import apps, isolation
from ..runtime.owners import same_owner
from ..runtime.session_directory import LocalRecord
from .base import KernelBackend, KernelCall, Readiness, Receive, Send


def session_for(scope: dict[str, Any]) -> tuple[LocalRecord, dict[str, Any]] | None:
    """The session record and kernel scope of a call the fast path may take."""
    admitted = admit_kernel_call(scope)
    if isinstance(admitted, Refused):
        return None
    assert admitted.record is not None and admitted.scope is not None
    return admitted.record, admitted.scope


class LocalBackend(KernelBackend):
    """Kernels in this process (``KERNELS = "local"``, the default)."""

    name = "local"
    consumer = "notebook_host.transports.websocket.NotebookConsumer"

    async def find_call(self, scope: dict[str, Any]) -> KernelCall | None:
        found = session_for(scope)
        if found is None:
            return None
        record, kernel_scope = found
        subpath = kernel_scope["path"][len(record.prefix or "") + 1 :]
        return KernelCall(record.session_id, subpath, kernel_scope, record)

    async def send_call(self, call: KernelCall, body: bytes, receive: Receive, send: Send) -> None:
        record: LocalRecord = call.session
        replay.remember(record, call.subpath, body)  # kept before the kernel sees it
        app = record.app
        assert app is not None
        app.touch()
        session_rows.touch(record.session_id)
        metrics.change_posted(record.session_id, call.scope["path"])
        await app(call.scope, receive, send)

    async def readiness(self) -> Readiness:
        """Ready with the database; with process kernels, how many processes run them."""
        if not isolation().processes:
            return Readiness()
        loaded = apps.loaded()
        return Readiness(
            counts={
                "kernel_processes": sum(len(app.kernel_pids()) for app in loaded),
                "template_processes": sum(len(app.template_pids()) for app in loaded),
            }
        )

    async def end_sessions_of(self, owner: str) -> list[str]:
        directory = session_directory.directory
        records = [r for r in directory.live() if same_owner(r.owner, owner)]
        ids = [r.session_id for r in records]
        if not ids:
            return []
        await session_rows.close_local(session_ids=ids, code=SIGNED_OUT)
        for record in records:
            if record.app is not None and record.app.has_session(record.session_id):
                record.app.close_session(record.session_id)
            directory.forget(record.session_id)
        return ids
