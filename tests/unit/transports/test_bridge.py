"""notebook_host.transports.bridge: a Django request to an ASGI app and its answer back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import AsyncRequestFactory, RequestFactory

from notebook_host.admission.scope import http_scope
from notebook_host.transports import bridge
from notebook_host.transports.bridge import call_http

SCOPE: dict[str, Any] = {"type": "http", "method": "GET", "path": "/nb/x", "headers": []}


def responder(
    status: int = 200,
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[tuple[bytes, bool]] | None = None,
):
    """An ASGI app that answers with ``status``, ``headers`` and body ``chunks``."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        for body, more in chunks or [(b"", False)]:
            await send({"type": "http.response.body", "body": body, "more_body": more})

    return app


async def collect(response: StreamingHttpResponse) -> list[bytes]:
    return [chunk async for chunk in response.streaming_content]


# plain responses ------------------------------------------------------------


async def test_plain_response_status_headers_body() -> None:
    app = responder(
        201,
        [
            (b"content-type", b"application/json"),
            (b"x-marimo", b"yes"),
            (b"content-length", b"11"),
        ],
        [(b'{"ok": true}'[:11], False)],
    )
    response = await call_http(app, dict(SCOPE), b"")
    assert type(response) is HttpResponse
    assert response.status_code == 201
    assert response.content == b'{"ok": true'
    assert response["Content-Type"] == "application/json"
    assert response["X-Marimo"] == "yes"
    assert response["Content-Length"] == "11"


async def test_plain_response_cookies() -> None:
    app = responder(
        200,
        [
            (b"content-type", b"text/plain"),
            (b"set-cookie", b"marimo_a=1; Path=/nb/; HttpOnly"),
            (b"set-cookie", b"marimo_b=two; Max-Age=60; SameSite=Lax"),
        ],
        [(b"hi", False)],
    )
    response = await call_http(app, dict(SCOPE), b"")
    assert set(response.cookies) == {"marimo_a", "marimo_b"}
    assert response.cookies["marimo_a"].value == "1"
    assert response.cookies["marimo_a"]["path"] == "/nb/"
    assert response.cookies["marimo_a"]["httponly"] is True
    assert response.cookies["marimo_b"].value == "two"
    assert response.cookies["marimo_b"]["max-age"] == "60"
    assert response.cookies["marimo_b"]["samesite"] == "Lax"
    # Cookies are not left behind as a (single, merged) raw header.
    assert "Set-Cookie" not in response.headers
    output = response.cookies.output().splitlines()
    assert len(output) == 2
    assert output[0].startswith("Set-Cookie: marimo_a=1; ")
    assert output[1].startswith("Set-Cookie: marimo_b=two; ")


async def test_repeated_headers_are_joined() -> None:
    app = responder(200, [(b"vary", b"Accept"), (b"vary", b"Cookie")], [(b"", False)])
    response = await call_http(app, dict(SCOPE), b"")
    assert response["Vary"] == "Accept, Cookie"


async def test_content_type_is_replaced_not_joined() -> None:
    app = responder(200, [(b"content-type", b"text/css")], [(b"a{}", False)])
    response = await call_http(app, dict(SCOPE), b"")
    assert response["Content-Type"] == "text/css"


async def test_plain_response_without_body_message() -> None:
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})

    response = await call_http(app, dict(SCOPE), b"")
    assert response.status_code == 204
    assert response.content == b""


async def test_plain_response_waits_for_the_app_to_finish() -> None:
    finished = asyncio.Event()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        await asyncio.sleep(0)
        finished.set()

    response = await call_http(app, dict(SCOPE), b"")
    assert response.content == b"done"
    assert finished.is_set()


# streaming responses --------------------------------------------------------


async def test_streaming_response_yields_all_chunks_in_order() -> None:
    app = responder(
        200,
        [(b"content-type", b"text/csv"), (b"content-length", b"9"), (b"x-file", b"data.csv")],
        [(b"a,b\n", True), (b"1,2\n", True), (b"3", False)],
    )
    response = await call_http(app, dict(SCOPE), b"")
    assert isinstance(response, StreamingHttpResponse)
    assert response.is_async
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["X-File"] == "data.csv"
    assert "Content-Length" not in response  # not carried over to a stream
    assert await collect(response) == [b"a,b\n", b"1,2\n", b"3"]


async def test_streaming_more_chunks_than_the_buffer() -> None:
    count = bridge.STREAM_BUFFER * 5
    chunks = [(f"{i};".encode(), True) for i in range(count)] + [(b"", False)]
    response = await call_http(responder(200, [], chunks), dict(SCOPE), b"")
    assert isinstance(response, StreamingHttpResponse)
    received = await collect(response)
    assert b"".join(received) == b"".join(body for body, _ in chunks)
    assert received[:3] == [b"0;", b"1;", b"2;"]


async def test_streaming_response_cookies() -> None:
    app = responder(
        200, [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")], [(b"x", True), (b"y", False)]
    )
    response = await call_http(app, dict(SCOPE), b"")
    assert isinstance(response, StreamingHttpResponse)
    assert {k: v.value for k, v in response.cookies.items()} == {"a": "1", "b": "2"}
    assert await collect(response) == [b"x", b"y"]


async def test_streaming_app_sees_disconnect_once_the_client_is_done() -> None:
    events: list[str] = []

    async def app(scope, receive, send):
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"1", "more_body": True})
        await send({"type": "http.response.body", "body": b"2", "more_body": False})
        events.append((await receive())["type"])

    response = await call_http(app, dict(SCOPE), b"")
    # The stream ends on the last chunk even though the app still listens for a disconnect.
    assert await asyncio.wait_for(collect(response), 2) == [b"1", b"2"]
    await asyncio.sleep(0.01)
    assert events in ([], ["http.disconnect"])  # told of the disconnect, or cancelled


# failures -------------------------------------------------------------------


async def test_app_raising_before_sending_propagates() -> None:
    class Boom(Exception):
        pass

    async def app(scope, receive, send):
        raise Boom("kernel exploded")

    with pytest.raises(Boom, match="kernel exploded"):
        await call_http(app, dict(SCOPE), b"")


async def test_app_sending_nothing_is_an_error() -> None:
    async def app(scope, receive, send):
        return None

    with pytest.raises(RuntimeError, match="sent no response"):
        await call_http(app, dict(SCOPE), b"")


# request side -----------------------------------------------------------------


async def test_request_body_is_delivered() -> None:
    received: list[dict] = []

    async def echo(scope, receive, send):
        message = await receive()
        received.append(message)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": message["body"][::-1]})

    body = b'{"object_ids": ["a"], "values": [1]}'
    response = await call_http(echo, dict(SCOPE), body)
    assert received == [{"type": "http.request", "body": body, "more_body": False}]
    assert response.content == body[::-1]


async def test_scope_is_handed_to_the_app() -> None:
    seen: list[dict] = []

    async def app(scope, receive, send):
        seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = {**SCOPE, "user": {"username": "alice"}}
    await call_http(app, scope, b"")
    assert seen == [scope]


async def test_later_receive_is_a_disconnect_after_the_response() -> None:
    messages: list[dict] = []

    async def app(scope, receive, send):
        messages.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        messages.append(await asyncio.wait_for(receive(), 2))

    response = await call_http(app, dict(SCOPE), b"x")
    assert response.content == b"ok"
    assert [m["type"] for m in messages] == ["http.request", "http.disconnect"]


# http_scope -------------------------------------------------------------------


def test_http_scope_from_request_factory() -> None:
    request = RequestFactory().post(
        "/dashboard/api/kernel/set_ui_element_value?a=1&b=x%20y",
        data=b"{}",
        content_type="application/json",
        headers={"Marimo-Session-Id": "s_abc"},
    )
    scope = http_scope(request, root_path="/dashboard", extra={"user": {"id": 1}})
    assert scope["type"] == "http"
    assert scope["method"] == "POST"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/dashboard/api/kernel/set_ui_element_value"
    assert scope["raw_path"] == b"/dashboard/api/kernel/set_ui_element_value"
    assert scope["root_path"] == "/dashboard"
    assert scope["query_string"] == b"a=1&b=x%20y"
    assert scope["server"] == ("testserver", 80)
    assert scope["client"] == ("127.0.0.1", 0)
    assert scope["http_version"] == "1.1"
    assert scope["state"] == {}
    assert scope["user"] == {"id": 1}
    headers = dict(scope["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"marimo-session-id"] == b"s_abc"
    assert all(name == name.lower() for name, _ in scope["headers"])


def test_http_scope_https_and_port(settings) -> None:
    settings.ALLOWED_HOSTS = ["nb.example.com"]
    request = RequestFactory().get(
        "/x/", secure=True, headers={"Host": "nb.example.com:8443"}, SERVER_PORT="8443"
    )
    scope = http_scope(request, root_path="/x", extra={})
    assert scope["scheme"] == "https"
    assert scope["server"] == ("nb.example.com", 8443)
    assert scope["query_string"] == b""


def test_http_scope_extra_overrides() -> None:
    request = RequestFactory().get("/nb/assets/index.js")
    scope = http_scope(request, root_path="", extra={"path": "/assets/index.js"})
    assert scope["path"] == "/assets/index.js"
    assert scope["root_path"] == ""


def test_http_scope_from_asgi_request_keeps_original_headers_and_peers() -> None:
    request = AsyncRequestFactory().get(
        "/meta/health", {"q": "1"}, headers={"X-Forwarded-For": "10.0.0.1"}
    )
    request.scope["client"] = ("192.0.2.7", 5555)
    request.scope["server"] = ("10.1.1.1", 8000)
    request.scope["http_version"] = "2"
    scope = http_scope(request, root_path="/meta", extra={})
    # An empty Cookie header is dropped; the rest is passed on as it came.
    assert scope["headers"] == [h for h in request.scope["headers"] if h != (b"cookie", b"")]
    assert (b"x-forwarded-for", b"10.0.0.1") in scope["headers"]
    assert scope["client"] == ("192.0.2.7", 5555)
    assert scope["server"] == ("10.1.1.1", 8000)
    assert scope["http_version"] == "2"
    assert scope["path"] == "/meta/health"
    assert scope["root_path"] == "/meta"
    assert scope["query_string"] == b"q=1"


@pytest.mark.parametrize("raw", ["q=é".encode(), "q=€".encode()], ids=["latin1-char", "euro"])
def test_http_scope_keeps_raw_asgi_query_bytes(raw: bytes) -> None:
    request = AsyncRequestFactory().get("/meta/")
    request.scope["query_string"] = raw
    request = type(request)(request.scope, request._stream)  # rebuild META from the scope
    scope = http_scope(request, root_path="/meta", extra={})
    assert scope["query_string"] == raw


def test_http_scope_server_for_ipv6_host(settings) -> None:
    settings.ALLOWED_HOSTS = ["[::1]"]
    request = RequestFactory().get("/x/", headers={"Host": "[::1]:8000"}, SERVER_PORT="8000")
    scope = http_scope(request, root_path="/x", extra={})
    assert scope["server"][1] == 8000  # holds today
    assert scope["server"][0] in ("::1", "[::1]")  # is "[" today
