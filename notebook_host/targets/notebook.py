"""What a URL pattern serves: a ServedNotebook, and how a URL locates one.

``notebook()`` serves one ServedNotebook; ``notebook_directory()`` serves a
:class:`~notebook_host.targets.folder.NotebookFolder` that locates a ServedNotebook
per request. Views and the websocket consumer only ever ask a target to
``locate`` the URL's kwargs, so both agree on what a path means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from ..params.declarations import NotebookParams
from ..targets.options import NotebookOptions
from .access import AccessRule

#: URL kwarg: the path below a notebook's own URL (None: no trailing slash).
SUBPATH_KWARG = "marimo_subpath"


@dataclass(eq=False)
class ServedNotebook:
    """One notebook file, its access rule, validation and option overrides."""

    file: Path
    access: AccessRule
    name: str | None = None
    route: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: ``validate(request_or_scope, relative_path) -> bool``, sync or async.
    validate: Callable[..., Any] | None = None
    #: The file's path relative to its directory (its name for notebook()).
    relative_path: str = ""
    #: The query parameters it declares (``params=``), or None: any query.
    params: NotebookParams | None = None

    def __post_init__(self) -> None:
        if not self.relative_path:
            self.relative_path = self.file.name

    def resolved_options(self) -> NotebookOptions:
        return NotebookOptions.resolve(self.options)

    def locate(self, kwargs: dict[str, Any]) -> Located:
        kwargs = dict(kwargs)
        subpath = kwargs.pop(SUBPATH_KWARG, None)
        return Located(notebook=self, subpath=subpath, path_params=kwargs)


@dataclass
class Located:
    """What a URL means: a notebook and the sub-route below it, or a listing."""

    notebook: ServedNotebook | None
    subpath: str | None
    path_params: dict[str, Any]
    listing: bool = False


class Target(Protocol):
    """Something a notebook URL pattern serves.

    A target may also define ``async alocate(kwargs)`` (database-backed
    targets do); views and the consumer call it instead of ``locate``.
    """

    def locate(self, kwargs: dict[str, Any]) -> Located | None: ...


async def locate(target: Any, kwargs: dict[str, Any]) -> Located | None:
    """``target.alocate(kwargs)`` if it has one, else ``target.locate(kwargs)``."""
    alocate = getattr(target, "alocate", None)
    if alocate is not None:
        return cast("Located | None", await alocate(kwargs))
    return cast("Located | None", target.locate(kwargs))
