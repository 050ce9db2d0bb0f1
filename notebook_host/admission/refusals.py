"""Why an arrival may not reach a kernel: :class:`Refused`, raised by a check.

A check (:mod:`.checks`) that says no raises :class:`Refused` with a
:class:`Reason`; the reason carries what every transport needs to answer it
(an HTTP status, a websocket close code, a sentence), so one function per
transport turns any refusal into its answer:

- the view: :func:`notebook_host.transports.view.answer`;
- the websocket consumer (local and worker kernels):
  ``NotebookConsumer._refuse`` in :mod:`notebook_host.transports.websocket`;
- the kernel-API fast path (:mod:`notebook_host.transports.fastpath`): any
  refusal lets the view answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .. import closecodes
from .limits import OverLimit


class Reason(enum.Enum):
    """Why an arrival was refused; each transport turns it into its own answer."""

    LOGIN = "login needed"
    NOT_FOUND = "not found"
    FORBIDDEN = "forbidden"
    ADD_SLASH = "no trailing slash"
    BAD_ORIGIN = "cross-origin"
    BAD_HOST = "host not allowed"
    INVALID_PARAMS = "invalid query parameters"
    NOT_CANONICAL = "not the canonical query"
    NOT_OWNER = "not the session's owner"
    OVER_LIMIT = "over a session limit"
    BODY_TOO_LARGE = "body too large"
    BAD_BODY = "bad body"
    NOTEBOOK_MISSING = "notebook file missing"
    LOAD_ERROR = "notebook does not load"
    NOT_A_KERNEL_CALL = "not a kernel API call of an open session"

    @property
    def status(self) -> int:
        """The HTTP status a refusal for this reason is answered with."""
        return _ANSWERS[self][0]

    @property
    def close_code(self) -> int:
        """The code a socket refused for this reason is closed with."""
        return _ANSWERS[self][1]

    @property
    def sentence(self) -> str:
        """What the answer says ("" : the refusal's own detail)."""
        return _ANSWERS[self][2]


#: Each reason's HTTP status, close code and sentence.
_ANSWERS: dict[Reason, tuple[int, int, str]] = {
    Reason.LOGIN: (401, closecodes.REFUSED, "Authentication required"),
    Reason.NOT_FOUND: (404, closecodes.REFUSED, "Not Found"),
    Reason.FORBIDDEN: (403, closecodes.REFUSED, "Permission denied"),
    Reason.ADD_SLASH: (302, closecodes.REFUSED, "Redirected to the page's URL with a slash"),
    Reason.BAD_ORIGIN: (403, closecodes.REFUSED, "Cross-origin request refused"),
    Reason.BAD_HOST: (400, closecodes.REFUSED, "Host not allowed"),
    Reason.INVALID_PARAMS: (400, closecodes.INVALID_PARAMS, "Invalid query parameters"),
    Reason.NOT_CANONICAL: (302, closecodes.REFUSED, "Redirected to the canonical query"),
    Reason.NOT_OWNER: (404, closecodes.REFUSED, "Unknown or expired session"),
    Reason.OVER_LIMIT: (429, closecodes.REFUSED, "Too many open sessions"),
    Reason.BODY_TOO_LARGE: (413, closecodes.REFUSED, "Request body too large"),
    Reason.BAD_BODY: (400, closecodes.REFUSED, ""),
    Reason.NOTEBOOK_MISSING: (404, closecodes.REFUSED, "Notebook not found"),
    Reason.LOAD_ERROR: (500, closecodes.REFUSED, "This notebook cannot be shown"),
    Reason.NOT_A_KERNEL_CALL: (404, closecodes.REFUSED, "Not Found"),
}


@dataclass(eq=False)
class Refused(Exception):  # a verdict, raised and caught like DRF's PermissionDenied
    """An arrival that may not reach the kernel, and what its answer needs."""

    reason: Reason
    #: A message for the client (body problems, load errors, close reasons).
    detail: str = ""
    #: INVALID_PARAMS: each field's errors.
    errors: dict[str, list[str]] | None = field(default=None, kw_only=True)
    #: NOT_CANONICAL: where the canonical URL is.
    location: str | None = field(default=None, kw_only=True)
    #: OVER_LIMIT: which limit, and whom it counts (a socket waits for a slot).
    over: OverLimit | None = field(default=None, kw_only=True)
    limit_key: str | None = field(default=None, kw_only=True)

    @property
    def status(self) -> int:
        return self.reason.status

    @property
    def close_code(self) -> int:
        return self.reason.close_code

    @property
    def sentence(self) -> str:
        """The sentence for the client: the reason's, else this refusal's detail."""
        return self.reason.sentence or self.detail
