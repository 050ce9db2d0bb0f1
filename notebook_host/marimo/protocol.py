"""Every marimo name the rest of notebook_host needs, defined once.

marimo 0.25.2's run-mode server and frontend fix these (the routes a page
uses below its own URL are classified in :mod:`.routes`): the session header
of its kernel API, the shape of a
download URL, the query parameters its frontend owns, the frames its socket
speaks, and the request bodies it would answer with a 500. Nothing here
imports marimo, so any layer may read it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

#: Files of marimo's frontend build that are not assets a page loads.
NOT_FRONTEND_ASSETS: tuple[str, ...] = ("index.html", "CLAUDE.md", "*.md")

# -- the kernel API -------------------------------------------------------------

#: The header naming the kernel session an API call is for.
SESSION_HEADER = "Marimo-Session-Id"
#: The same, as it appears in an ASGI scope's raw headers.
SESSION_HEADER_RAW = SESSION_HEADER.lower().encode("latin-1")
#: Sub-route prefix of marimo's HTTP API (``api/kernel/...``, ``api/status``).
API_PREFIX = "api/"
#: What a kernel API call's path holds between the page prefix and the op.
KERNEL_API_INFIX = "/api/kernel/"
#: The kernel API op whose body pairs objectIds with values.
SET_UI_ELEMENT_VALUE = "api/kernel/set_ui_element_value"

# -- downloads --------------------------------------------------------------------

#: Sub-route prefix of the files a kernel hands out (``mo.download``, ``mo.pdf``).
DOWNLOAD_PREFIX = "@file/"
#: A kernel download: ``@file/<length>-<kernel thread id>-<random>.<ext>``.
DOWNLOAD_URL = re.compile(r"^@file/\d+-(\d+)-[A-Za-z0-9]+\.[^/]+$")
#: The empty file marimo serves to everyone.
EMPTY_DOWNLOAD = "@file/0-empty.txt"


def download_thread_id(subpath: str) -> int | None:
    """The native id of the kernel thread that made this download, else None."""
    match = DOWNLOAD_URL.match(subpath)
    return int(match.group(1)) if match else None


# -- query parameters ---------------------------------------------------------------

#: The socket URL's parameter naming its kernel session.
SESSION_ID_PARAM = "session_id"

#: Query parameters marimo's own frontend (0.25.2) and server read: never
#: validated, never rejected, kept as they are. The names come from the
#: frontend bundle's URL-parameter table (``session_id``, ``kiosk``, ...),
#: its slides layout (``receiver``) and marimo's ignored keys (``refresh_token``).
FRONTEND_PARAMS: frozenset[str] = frozenset(
    {
        SESSION_ID_PARAM,
        "kiosk",
        "show-chrome",
        "view-as",
        "access_token",
        "refresh_token",
        "show-code",
        "include-code",
        "vscode",
        "file",
        "theme",
        "receiver",
    }
)

#: Query parameters the frontend adds to the socket URL, not the page's own.
SOCKET_ONLY_PARAMS: frozenset[str] = frozenset({SESSION_ID_PARAM})


def page_query(query_string: bytes) -> bytes:
    """The page's query string, from a socket URL's query string."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k not in SOCKET_ONLY_PARAMS]
    return urlencode(kept, doseq=True).encode("latin-1")


def socket_session_id(query_string: bytes) -> str:
    """The kernel session id a socket URL names ("" when none)."""
    return parse_qs(query_string.decode("latin-1")).get(SESSION_ID_PARAM, [""])[0]


# -- the kernel socket ----------------------------------------------------------------

#: Frame ops of marimo's kernel socket that notebook_host sends itself.
OP_STARTUP_ERROR = "kernel-startup-error"
OP_BANNER = "banner"
OP_RELOAD = "reload"


#: How marimo's own frames begin (``ws_formatter.py``), and what a cell's
#: notification says when it finished running (read by notebook_host.metrics).
FRAME_KERNEL_READY = '{"op": "kernel-ready"'
FRAME_RECONNECTED = '{"op": "reconnected"'
FRAME_CELL_IDLE = '"status":"idle"'


def frame(op: str, **data: Any) -> str:
    """One text frame of marimo's kernel socket, as its frontend parses it."""
    return json.dumps({"op": op, "data": {"op": op, **data}})


# -- scope keys -------------------------------------------------------------------------

#: Scope key holding the page URL a kernel should see: ``{"path", "query_string"}``
#: (read by :func:`notebook_host.marimo.patches.show_page_url_to_kernel`).
PAGE_SCOPE_KEY = "notebook_host.page"
#: Scope key of a socket whose new kernel should start with recorded widget
#: values: ``{"ids", "values", "notice"}`` (read by :mod:`notebook_host.marimo.replay`).
REPLAY_SCOPE_KEY = "notebook_host.replay"

# -- the run-mode page's DOM (embedded mode, notebook_host.transports.embedding) ----------

#: The element that fills the page and scrolls; its children have their natural height.
PAGE_APP_ID = "App"
#: The page menu (the "..." button), hidden in a frame.
PAGE_MENU_SELECTOR = '[data-testid="notebook-actions-dropdown"]'
#: The page's own padding around the cells, dropped in a frame.
PAGE_PADDING_SELECTORS = ("#App > div", "#App > div > .m-auto")

#: Preloads of the page's ``<head>`` that a run-mode page needs only when its
#: socket is closed (the "disconnected" background, ``.disconnected-gradient``
#: and ``.noise``): ~0.4 MB that Chromium reports as unused on every load.
PAGE_DISCONNECTED_PRELOADS = ("gradient-", "noise-")
#: Preloads of the code font (Fira Mono), used by shown code; other monospace
#: output loads it on first use.
PAGE_CODE_FONT_PRELOADS = ("FiraMono-",)

# -- request bodies ----------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def api_body_problem(subpath: str, body: bytes) -> str | None:
    """Why marimo would answer 500 to this API POST body, else None.

    marimo 0.25.2 maps an empty or malformed JSON body, and a set_ui_element_value
    whose objectIds and values differ in length, to 500. Both are the
    client's error; the view answers 400 with this text instead.
    """
    if not body.strip():
        return "Empty body: a JSON object is expected"
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        return f"Malformed JSON body: {exc}"
    if subpath == SET_UI_ELEMENT_VALUE and isinstance(data, dict):
        ids, values = data.get("objectIds"), data.get("values")
        if isinstance(ids, list) and isinstance(values, list) and len(ids) != len(values):
            return "objectIds and values must have the same length"
    return None
