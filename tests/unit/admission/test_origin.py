"""notebook_host.admission.origin: the Origin/Referer check standing in for CSRF on marimo POSTs."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from notebook_host.admission.origin import origin_allowed, socket_origin_allowed

rf = RequestFactory()  # host "testserver", scheme http


def post(*, secure: bool = False, host: str | None = None, **headers: str):
    if host is not None:
        headers["Host"] = host
    return rf.post("/nb/api/kernel/set_ui_element_value", secure=secure, headers=headers)


@pytest.fixture(autouse=True)
def no_trusted_origins(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = []


@pytest.mark.parametrize("method", ["get", "head", "options", "trace"])
def test_safe_methods_pass_without_any_header(method: str) -> None:
    request = getattr(rf, method)("/nb/")
    assert origin_allowed(request) is True


def test_safe_method_passes_even_from_a_foreign_origin() -> None:
    assert origin_allowed(rf.get("/nb/", headers={"Origin": "https://evil.test"})) is True


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unsafe_methods_need_an_origin(method: str) -> None:
    assert origin_allowed(getattr(rf, method)("/nb/api/x")) is False
    same = getattr(rf, method)("/nb/api/x", headers={"Origin": "http://testserver"})
    assert origin_allowed(same) is True


def test_same_origin_passes() -> None:
    assert origin_allowed(post(Origin="http://testserver")) is True


def test_same_origin_with_trailing_slash_passes() -> None:
    assert origin_allowed(post(Origin="http://testserver/")) is True


def test_same_origin_with_port(settings) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]
    assert origin_allowed(post(host="localhost:8000", Origin="http://localhost:8000")) is True
    assert origin_allowed(post(host="localhost:8000", Origin="http://localhost:9000")) is False
    assert origin_allowed(post(host="localhost:8000", Origin="http://localhost")) is False


def test_same_origin_over_https() -> None:
    assert origin_allowed(post(secure=True, Origin="https://testserver")) is True


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.test",
        "http://evil.test",
        "http://testserver.evil.test",
        "http://evil.testserver",
        "http://testserver:8080",
    ],
)
def test_foreign_origin_is_refused(origin: str) -> None:
    assert origin_allowed(post(Origin=origin)) is False


def test_foreign_origin_is_refused_even_with_same_origin_referer() -> None:
    request = post(Origin="https://evil.test", Referer="http://testserver/nb/")
    assert origin_allowed(request) is False


def test_scheme_mismatch_with_own_host_is_refused() -> None:
    assert origin_allowed(post(secure=True, Origin="http://testserver")) is False
    assert origin_allowed(post(secure=False, Origin="https://testserver")) is False


def test_no_origin_same_origin_referer_passes() -> None:
    assert origin_allowed(post(Referer="http://testserver/nb/?x=1")) is True


def test_no_origin_foreign_referer_is_refused() -> None:
    assert origin_allowed(post(Referer="https://evil.test/nb/")) is False


@pytest.mark.parametrize("referer", ["/nb/", "testserver/nb/", "not a url"])
def test_no_origin_relative_referer_is_refused(referer: str) -> None:
    assert origin_allowed(post(Referer=referer)) is False


def test_no_origin_no_referer_is_refused() -> None:
    assert origin_allowed(post()) is False


def test_empty_origin_falls_back_to_referer() -> None:
    assert origin_allowed(post(Origin="", Referer="http://testserver/nb/")) is True
    assert origin_allowed(post(Origin="")) is False


def test_null_origin_is_refused_whatever_the_referer() -> None:
    # Django's CSRF check refuses "null" too: a sandboxed frame of any site sends it.
    assert origin_allowed(post(Origin="null", Referer="http://testserver/nb/")) is False
    assert origin_allowed(post(Origin="null", Referer="https://evil.test/")) is False
    assert origin_allowed(post(Origin="null")) is False


def test_trusted_origin_exact(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    assert origin_allowed(post(Origin="https://app.example.com")) is True
    assert origin_allowed(post(Referer="https://app.example.com/nb/")) is True
    assert origin_allowed(post(Origin="https://other.example.com")) is False
    assert origin_allowed(post(Origin="https://example.com")) is False
    assert origin_allowed(post(Origin="https://app.example.com:8443")) is False


def test_trusted_origin_exact_with_port(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com:8443"]
    assert origin_allowed(post(Origin="https://app.example.com:8443")) is True
    assert origin_allowed(post(Origin="https://app.example.com")) is False


def test_trusted_origin_wildcard(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    assert origin_allowed(post(Origin="https://app.example.com")) is True
    assert origin_allowed(post(Origin="https://a.b.example.com")) is True
    # Django's is_same_domain: ".example.com" also matches example.com itself.
    assert origin_allowed(post(Origin="https://example.com")) is True
    assert origin_allowed(post(Origin="https://example.com.evil.test")) is False
    assert origin_allowed(post(Origin="https://notexample.com")) is False
    assert origin_allowed(post(Origin="https://evil.test")) is False


def test_trusted_origin_scheme_mismatch_is_refused(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    assert origin_allowed(post(Origin="http://app.example.com")) is False
    assert origin_allowed(post(Origin="http://app.example.org")) is False
    assert origin_allowed(post(Referer="http://app.example.com/nb/")) is False


def test_any_of_several_trusted_origins(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://one.test", "http://*.two.test"]
    assert origin_allowed(post(Origin="https://one.test")) is True
    assert origin_allowed(post(Origin="http://x.two.test")) is True
    assert origin_allowed(post(Origin="https://x.two.test")) is False


def socket(origin: str | None, *, scheme: str = "ws", host: str = "testserver", **extra: str):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in extra.items()]
    return {"type": "websocket", "scheme": scheme, "path": "/nb/ws", "headers": headers}


@pytest.mark.parametrize(
    ("origin", "scheme", "host", "allowed"),
    [
        ("http://testserver", "ws", "testserver", True),
        ("https://testserver", "wss", "testserver", True),
        ("http://testserver:8000", "ws", "testserver:8000", True),
        # The host names match, but the scheme or port does not: another site.
        ("https://testserver", "ws", "testserver", False),
        ("http://testserver", "wss", "testserver", False),
        ("http://testserver:9999", "ws", "testserver:8000", False),
        ("http://testserver:9999", "ws", "testserver", False),
        ("http://evil.test", "ws", "testserver", False),
        ("null", "ws", "testserver", False),
        (None, "ws", "testserver", False),
        # A Host outside ALLOWED_HOSTS is refused whatever the Origin says.
        ("http://evil.test", "ws", "evil.test", False),
    ],
)
def test_socket_origin_rule(origin: str | None, scheme: str, host: str, allowed: bool) -> None:
    assert socket_origin_allowed(socket(origin, scheme=scheme, host=host)) is allowed


def test_socket_trusted_origin(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    assert socket_origin_allowed(socket("https://app.example.com")) is True
    assert socket_origin_allowed(socket("http://app.example.com")) is False


def test_socket_behind_a_tls_proxy(settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = socket("https://testserver", X_Forwarded_Proto="https")
    assert socket_origin_allowed(forwarded) is True
    assert socket_origin_allowed(socket("https://testserver")) is False
