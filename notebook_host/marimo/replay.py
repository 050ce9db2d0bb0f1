"""Start a new kernel with recorded widget values (see :mod:`notebook_host.runtime.replay`).

marimo 0.25.2 instantiates a run-mode session itself when its socket
connects (``SessionConnector._auto_instantiate``), with no UI values. Its
instantiate request can carry ``object_ids``/``values``: the kernel keeps
them as initializers, so each element created in the first run takes its
recorded value (ids that no longer exist are never asked for). The patch
passes the values found under :data:`.protocol.REPLAY_SCOPE_KEY` of the
socket's scope, and sends the notice as marimo's alert (a toast: run-mode
pages show no banners). A socket resuming a live kernel never reaches this:
it needs nothing restored.
"""

from __future__ import annotations

from typing import Any

from marimo._messaging.notification import AlertNotification
from marimo._runtime.commands import HTTPRequest
from marimo._server.api.endpoints.ws.ws_session_connector import SessionConnector
from marimo._session.requests import InstantiateNotebookRequest

from .protocol import REPLAY_SCOPE_KEY

_MARK = "_notebook_host_replay"


def apply_recorded_values() -> None:
    """Patch marimo's run-mode instantiation to apply a socket's recorded values."""
    original = SessionConnector._auto_instantiate
    if getattr(original, _MARK, False):
        return

    def _auto_instantiate(self: Any, session: Any) -> None:
        recorded = self.connection.scope.get(REPLAY_SCOPE_KEY)
        if not recorded:
            original(self, session)
            return
        session.instantiate(
            InstantiateNotebookRequest(
                object_ids=list(recorded["ids"]),
                values=list(recorded["values"]),
                auto_run=True,
            ),
            http_request=HTTPRequest.from_request(self.connection),
        )
        notice = recorded.get("notice")
        if notice:
            # a toast: marimo's run-mode page shows no banners (only its editor does)
            self.handler._serialize_and_notify(
                AlertNotification(title=notice["title"], description=notice["description"])
            )

    setattr(_auto_instantiate, _MARK, True)
    SessionConnector._auto_instantiate = _auto_instantiate  # type: ignore[method-assign]
