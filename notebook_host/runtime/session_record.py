"""The session record: what every kernel backend keeps of a kernel session.

Whose it is (owner key, user, the key limits count it against), which page
opened it, and what its kernel was given (user dict, request meta, path
parameters): a kernel API call of the session is checked and scoped from
this alone, whichever backend holds it. Each backend adds where the session
lives: :class:`.session_directory.LocalRecord` (this process's app) and
``notebook_host.workers.records.WorkerRecord`` (a worker, kept in Redis).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SessionRecord"]


@dataclass(kw_only=True)
class SessionRecord:
    session_id: str
    #: The page's query string, without the socket's own parameters.
    page_query: bytes = b""
    #: The page's path without its trailing slash, e.g. ``/sales/report``.
    prefix: str | None = None
    #: Owner key (see runtime/owners.py) of the browser session that opened the socket.
    owner: str | None = None
    #: Whom limits count this session against: ``user:<pk>`` or the owner key.
    limit_key: str | None = None
    user_id: Any = None
    #: The user dict the kernel got at connect; API calls of the same user
    #: reuse it, so both paths show the same user without a query per click.
    user_info: dict[str, Any] | None = None
    #: What the socket's kernel got as ``meta`` and ``path_params``.
    meta: dict[str, Any] = field(default_factory=dict)
    path_params: dict[str, Any] = field(default_factory=dict)
