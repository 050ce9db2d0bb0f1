"""The admission pipeline in process: its order, its refusals, its kernel scope.

The transports only translate what :func:`admit` decides; the live tests
check the translations over daphne, these check the decisions themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from devtools.params_forms import ItemFilter
from notebook_host.admission import pipeline
from notebook_host.admission.arrival import Admitted, Arrival, Kind
from notebook_host.admission.kernel_call import admit_kernel_call
from notebook_host.admission.pipeline import acheck_page, admit, check_page
from notebook_host.admission.refusals import Reason, Refused
from notebook_host.marimo.protocol import PAGE_SCOPE_KEY
from notebook_host.params.declarations import NotebookParams
from notebook_host.runtime import session_directory
from notebook_host.runtime.owners import OWNER_COOKIE, key_from_cookies
from notebook_host.runtime.session_directory import InProcessSessionDirectory, LocalRecord
from notebook_host.targets.access import parse_rule
from notebook_host.targets.notebook import ServedNotebook
from notebook_host.transports.view import answer
from tests.support.paths import NOTEBOOKS

NB = NOTEBOOKS
BROWSER = key_from_cookies({OWNER_COOKIE: "browser-1"})


@dataclass
class Member:
    """A signed-in, active user who is neither staff nor superuser."""

    pk: int = 7
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False


@dataclass
class FakeApp:
    """Stands in for a MarimoApp holding some kernel sessions."""

    live: set[str] = field(default_factory=set)

    def has_session(self, session_id: str) -> bool:
        return session_id in self.live

    def session_ids(self) -> list[str]:
        return list(self.live)

    def touch(self) -> None:
        pass


@pytest.fixture(autouse=True)
def directory(monkeypatch: pytest.MonkeyPatch) -> InProcessSessionDirectory:
    fresh = InProcessSessionDirectory()
    monkeypatch.setattr(session_directory, "directory", fresh)
    return fresh


def served(file: str = "app1.py", access: str = "public", **kwargs: Any) -> ServedNotebook:
    return ServedNotebook(file=NB / file, access=parse_rule(access, where="t"), **kwargs)


def request(method: str = "get", path: str = "/page/", user: Any = None, **kwargs: Any) -> Any:
    made = getattr(RequestFactory(), method)(path, **kwargs)
    who = user or AnonymousUser()

    async def auser() -> Any:
        return who

    made.auser = auser
    return made


async def arrive(notebook: ServedNotebook, subpath: str | None, made: Any) -> Admitted | Refused:
    return await admit(await Arrival.from_request(made, notebook, subpath, {}))


def record(notebook: ServedNotebook, session_id: str, app: FakeApp, **kwargs: Any) -> LocalRecord:
    app.live.add(session_id)
    return LocalRecord(
        session_id=session_id,
        notebook=notebook,
        page_query=b"q=1",
        app=app,  # type: ignore[arg-type]
        prefix="/page",
        **kwargs,
    )


class TestOrder:
    async def test_access_comes_before_the_slash(self) -> None:
        notebook = served(access="login")
        refused = await arrive(notebook, None, request(path="/page"))
        assert isinstance(refused, Refused) and refused.reason is Reason.LOGIN
        refused = await arrive(notebook, None, request(path="/page", user=Member()))
        assert isinstance(refused, Refused) and refused.reason is Reason.ADD_SLASH

    async def test_origin_comes_before_params_and_owner(self) -> None:
        made = request("post", "/page/api/kernel/stdin", HTTP_ORIGIN="http://evil.example")
        refused = await arrive(served(), "api/kernel/stdin", made)
        assert isinstance(refused, Refused) and refused.reason is Reason.BAD_ORIGIN

    async def test_params_come_before_limits(self, directory: InProcessSessionDirectory) -> None:
        notebook = served(params=NotebookParams(ItemFilter))
        with override_settings(NOTEBOOK_HOST={"MAX_SESSIONS": 1}):
            app = FakeApp()
            directory.record(record(notebook, "s_open", app, limit_key="someone", sockets=1))
            invalid = await arrive(notebook, "", request(path="/page/?limit=0"))
            assert isinstance(invalid, Refused) and invalid.reason is Reason.INVALID_PARAMS
            assert set(invalid.errors or {}) == {"limit"}
            redirect = await arrive(notebook, "", request(path="/page/"))
        assert isinstance(redirect, Refused) and redirect.reason is Reason.NOT_CANONICAL
        assert redirect.location == "/page/?limit=100&offset=0&order_by=created_at"

    async def test_a_page_over_a_limit_is_refused_with_its_key(
        self, directory: InProcessSessionDirectory
    ) -> None:
        app = FakeApp()
        directory.record(record(served(), "s_open", app, limit_key="someone", sockets=1))
        with override_settings(NOTEBOOK_HOST={"MAX_SESSIONS": 1}):
            refused = await arrive(served(), "", request())
        assert isinstance(refused, Refused) and refused.reason is Reason.OVER_LIMIT
        assert refused.over is not None and refused.over.which == "process"
        assert refused.limit_key == "anonymous-without-cookie"

    async def test_owner_comes_before_the_body(self, directory: InProcessSessionDirectory) -> None:
        notebook = served()
        directory.record(record(notebook, "s_1", FakeApp(), owner=BROWSER))
        stranger = request(
            "post",
            "/page/api/kernel/stdin",
            data=b"",
            content_type="application/json",
            HTTP_MARIMO_SESSION_ID="s_1",
            HTTP_ORIGIN="http://testserver",
        )
        refused = await arrive(notebook, "api/kernel/stdin", stranger)
        assert isinstance(refused, Refused) and refused.reason is Reason.NOT_OWNER
        owner = request(
            "post",
            "/page/api/kernel/stdin",
            data=b"",
            content_type="application/json",
            HTTP_MARIMO_SESSION_ID="s_1",
            HTTP_COOKIE=f"{OWNER_COOKIE}=browser-1",
            HTTP_ORIGIN="http://testserver",
        )
        refused = await arrive(notebook, "api/kernel/stdin", owner)
        assert isinstance(refused, Refused) and refused.reason is Reason.BAD_BODY
        assert refused.detail.startswith("Empty body")

    async def test_a_download_of_no_live_session_is_not_the_owners(self) -> None:
        refused = await arrive(served(), "@file/12-345-abc.csv", request(path="/page/@file/x"))
        assert isinstance(refused, Refused) and refused.reason is Reason.NOT_OWNER
        empty = await arrive(served("missing.py"), "@file/0-empty.txt", request())
        assert isinstance(empty, Refused) and empty.reason is Reason.NOTEBOOK_MISSING


class TestApp:
    async def test_missing_and_broken_notebooks(self) -> None:
        missing = await arrive(served("missing.py"), "", request())
        assert isinstance(missing, Refused) and missing.reason is Reason.NOTEBOOK_MISSING
        broken = await arrive(served("broken.py"), "", request())
        assert isinstance(broken, Refused) and broken.reason is Reason.LOAD_ERROR
        assert "does not parse" in broken.detail

    @override_settings(NOTEBOOK_HOST={"USER_INFO": lambda user: {"id": None, "who": "anon"}})
    async def test_the_page_gets_one_kernel_scope(self) -> None:
        made = request(path="/page/?a=1", HTTP_COOKIE="sessionid=secret; theme=dark")
        notebook = served()
        admitted = await admit(await Arrival.from_request(made, notebook, "", {"year": 2026}))
        assert isinstance(admitted, Admitted) and admitted.app is not None
        scope = admitted.scope
        assert scope is not None
        assert scope["root_path"] == "/page" and scope["path"] == "/page/"
        assert scope[PAGE_SCOPE_KEY] == {"path": "/page/", "query_string": b"a=1"}
        assert scope["user"] == {"id": None, "who": "anon"}
        assert scope["path_params"] == {"year": 2026} and scope["meta"] == {}
        assert dict(scope["headers"])[b"cookie"] == b"theme=dark"
        assert admitted.record is None and admitted.prefix == "/page"


class TestSocket:
    async def test_a_foreign_session_id_is_refused(
        self, directory: InProcessSessionDirectory
    ) -> None:
        notebook = served()
        directory.record(record(notebook, "s_1", FakeApp(), owner=BROWSER))
        scope = {"type": "websocket", "path": "/page/ws", "query_string": b"session_id=s_1"}
        arrival = Arrival(Kind.SOCKET, notebook, "ws", {}, AnonymousUser(), scope=scope)
        refused = await admit(arrival)
        assert isinstance(refused, Refused) and refused.reason is Reason.NOT_OWNER

    async def test_a_refused_route_is_not_found_before_access(self) -> None:
        for subpath in ("sse", "api/kernel/run", "api/status", "ws_sync"):
            made = request(path=f"/page/{subpath}")  # anonymous, on a login notebook
            refused = await arrive(served(access="login"), subpath, made)
            assert isinstance(refused, Refused) and refused.reason is Reason.NOT_FOUND, subpath

    async def test_an_unknown_socket_path_is_not_found(self) -> None:
        refused = await pipeline.socket_arrival({"type": "websocket", "path": "/nowhere/ws"})
        assert isinstance(refused, Refused) and refused.reason is Reason.NOT_FOUND


class TestKernelCall:
    def test_reasons(self, directory: InProcessSessionDirectory) -> None:
        base = {"type": "http", "method": "POST", "path": "/page/api/kernel/run", "headers": []}
        assert admit_kernel_call({**base, "method": "GET"}).reason is Reason.NOT_A_KERNEL_CALL  # type: ignore[union-attr]
        assert admit_kernel_call(base).reason is Reason.NOT_A_KERNEL_CALL  # type: ignore[union-attr]
        unknown = {**base, "headers": [(b"marimo-session-id", b"s_9")]}
        assert admit_kernel_call(unknown).reason is Reason.NOT_OWNER  # type: ignore[union-attr]


class TestCheckPage:
    async def test_admitted_with_the_canonical_query(self) -> None:
        notebook = served(params=NotebookParams(ItemFilter))
        admitted = await acheck_page(request(path="/embedding/"), notebook, "tags=b&limit=5")
        assert isinstance(admitted, Admitted) and admitted.checked is not None
        assert admitted.checked.query == "limit=5&offset=0&order_by=created_at&tags=b"
        assert admitted.app is None and admitted.scope is None and admitted.record is None

    async def test_refused_for_its_reason(self) -> None:
        notebook = served(access="login", params=NotebookParams(ItemFilter))
        login = await acheck_page(request(), notebook, "limit=5")
        assert isinstance(login, Refused) and login.reason is Reason.LOGIN
        invalid = await acheck_page(request(user=Member()), notebook, "limit=0")
        assert isinstance(invalid, Refused) and invalid.reason is Reason.INVALID_PARAMS

    def test_sync_callers_get_the_same_answer(self, directory: InProcessSessionDirectory) -> None:
        assert isinstance(check_page(request(), served()), Admitted)
        assert len(directory) == 0  # nothing was opened


@pytest.mark.parametrize(
    ("refused", "kind", "status"),
    [
        (Refused(Reason.LOGIN), Kind.PAGE, 302),
        (Refused(Reason.LOGIN), Kind.API, 401),
        (Refused(Reason.NOT_FOUND), Kind.PAGE, 404),
        (Refused(Reason.FORBIDDEN), Kind.PAGE, 403),
        (Refused(Reason.ADD_SLASH), Kind.PAGE, 302),
        (Refused(Reason.BAD_ORIGIN), Kind.API, 403),
        (Refused(Reason.INVALID_PARAMS, errors={"limit": ["Too small."]}), Kind.PAGE, 400),
        (Refused(Reason.NOT_CANONICAL, location="/page/?a=1"), Kind.PAGE, 302),
        (Refused(Reason.NOT_OWNER), Kind.API, 404),
        (Refused(Reason.BODY_TOO_LARGE), Kind.API, 413),
        (Refused(Reason.BAD_BODY, detail="Malformed JSON body"), Kind.API, 400),
        (Refused(Reason.NOTEBOOK_MISSING, detail="gone"), Kind.PAGE, 404),
        (Refused(Reason.LOAD_ERROR, detail="broken"), Kind.PAGE, 500),
    ],
)
def test_the_view_translates_every_refusal(refused: Refused, kind: Kind, status: int) -> None:
    assert answer(request(), refused, kind).status_code == status
