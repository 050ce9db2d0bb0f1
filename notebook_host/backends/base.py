"""The contract of a kernel backend: where sessions live and how each way in reaches one.

A backend is chosen once, by ``NOTEBOOK_HOST["KERNELS"]``, on the model of
Channels' channel layers: ``"local"`` (kernels are threads, or forked
processes, of the server that opened them: :mod:`.local`), ``"workers"``
(kernels run in ``manage.py notebook_worker`` processes reached through the
channel layer: :mod:`notebook_host.workers.backend`), or the dotted path of
another :class:`KernelBackend` subclass. The transports, the health views,
sign-out and the commands call the backend; none of them asks which one it is.

Every way into a kernel goes through it:

- a **socket**: :attr:`KernelBackend.consumer` is the Channels consumer that
  admits it, opens (or resumes) its session and pumps its frames;
- an **API call** on the fast path: :meth:`KernelBackend.find_call` checks it
  against the session's record without Django, :meth:`KernelBackend.send_call`
  hands it to the kernel;
- an **API call or download through Django's view**:
  :meth:`KernelBackend.forward` answers it when the session's kernel is not
  in this process, else the view hands it to the local app;
- **health**: :meth:`KernelBackend.readiness` adds what the backend depends on;
- **sign-out**: :meth:`KernelBackend.end_sessions_of` ends an owner's sessions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # typing only: the admission layer is imported by the implementations
    from django.http import HttpRequest, HttpResponse

    from ..admission.arrival import Arrival
    from ..admission.refusals import Refused

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class KernelCall:
    """A fast-path kernel API call admitted against its session's record."""

    session_id: str
    #: The call's sub-route under the page, e.g. ``api/kernel/set_ui_element_value``.
    subpath: str
    #: The scope the kernel gets (:func:`notebook_host.admission.scope.kernel_scope`).
    scope: dict[str, Any]
    #: The backend's own handle on the session (a local record, a worker's entry).
    session: Any = None


@dataclass
class Readiness:
    """What a backend adds to the health views: counts for all, detail for some."""

    ready: bool = True
    counts: dict[str, Any] = field(default_factory=dict)
    #: Names, hosts and error text: shown to callers HEALTH_DETAIL_ACCESS admits.
    detail: dict[str, Any] = field(default_factory=dict)


class KernelBackend(ABC):
    """Where kernel sessions live; one per process (:func:`notebook_host.backends.kernels`)."""

    #: The name ``NOTEBOOK_HOST["KERNELS"]`` gives it.
    name: ClassVar[str]
    #: Dotted path of the Channels consumer a notebook socket gets.
    consumer: ClassVar[str]
    #: True when kernels run in ``manage.py notebook_worker`` processes.
    uses_workers: ClassVar[bool] = False

    def at_startup(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Called once when the ASGI application is built: log what is wrong early."""

    @abstractmethod
    async def find_call(self, scope: dict[str, Any]) -> KernelCall | None:
        """The open session a fast-path API call belongs to, with every check passed.

        None lets Django's view answer (refusals, errors, anything unusual).
        """

    @abstractmethod
    async def send_call(self, call: KernelCall, body: bytes, receive: Receive, send: Send) -> None:
        """Hand an admitted call and its body to the session's kernel; stream its answer."""

    async def forward(
        self, request: HttpRequest, arrival: Arrival
    ) -> HttpResponse | Refused | None:
        """An API call or download whose kernel is elsewhere: its answer, or why not.

        None: the session's kernel is in this process; the view serves it.
        """
        return None

    @abstractmethod
    async def readiness(self) -> Readiness:
        """Whether notebooks can run (beyond the database), with counts and detail."""

    @abstractmethod
    async def end_sessions_of(self, owner: str) -> list[str]:
        """Close every kernel session the owner key ``owner`` opened; their ids."""
