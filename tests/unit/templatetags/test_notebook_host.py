"""``{% notebook %}`` rendered in-process: each access case, options, errors."""

from __future__ import annotations

import asyncio
import logging
import re
from html import unescape
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.template import TemplateSyntaxError, engines
from django.test import Client, RequestFactory, override_settings
from django.urls import NoReverseMatch

from devtools.users import create_test_users
from notebook_host.admission import limits
from notebook_host.checks import iter_notebooks
from notebook_host.conf import get_config
from notebook_host.models import Notebook as Row
from notebook_host.runtime import session_directory
from notebook_host.runtime.session_directory import LocalRecord
from notebook_host.templatetags.notebook_host import EmbedConfigError
from notebook_host.transports.embedding import framing_headers, framing_send, take_scope_marker

pytestmark = pytest.mark.django_db

ENGINE = engines["django"]


def host_request(username: str | None, path: str = "/report/?year=2024") -> Any:
    """A GET of a host page by ``username`` (None: anonymous), as middleware leaves it."""
    create_test_users()
    user = get_user_model().objects.get(username=username) if username else AnonymousUser()
    request = RequestFactory().get(path)
    request.user = user

    async def auser() -> Any:
        return user

    request.auser = auser
    return request


def render(source: str, username: str | None = "alice", **context: Any) -> str:
    request = host_request(username)
    return ENGINE.from_string("{% load notebook_host %}" + source).render(context, request)


def frames(html: str) -> list[dict[str, str]]:
    return [
        {k: unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}
        for tag in re.findall(r"<iframe[^>]*>", html)
    ]


def test_allowed_user_gets_a_frame() -> None:
    html = render('{% notebook "meta" %}')
    [frame] = frames(html)
    assert frame["class"] == "notebook-host-frame"
    assert frame["src"] == "/meta/?nh-embed=auto"
    assert frame["title"] == "meta"  # no app_title: the file name
    assert frame["loading"] == "lazy"
    assert frame["sandbox"] == " ".join(get_config()["EMBED_SANDBOX"])
    assert set(frame["sandbox"].split()) == {
        "allow-scripts",
        "allow-same-origin",
        "allow-downloads",
        "allow-popups",
        "allow-forms",
    }
    assert frame["data-notebook-height"] == "auto"
    assert html.count("<script data-notebook-host-embed>") == 1
    assert "notebook_host:height" in html  # the sizing script itself, inline


def test_title_defaults_to_the_notebooks_app_title() -> None:
    [frame] = frames(render('{% notebook "app1" %}'))
    assert frame["title"] == "App One"
    [frame] = frames(render('{% notebook "app1" title=name %}', name="Team <b>"))
    assert frame["title"] == "Team <b>"


def test_script_once_however_many_frames() -> None:
    html = render('{% notebook "app1" %}{% notebook "app2" %}{% notebook "app1" as x %}{{ x }}')
    assert len(frames(html)) == 3
    assert html.count("<script") == 1


def test_signed_in_but_denied_gets_nothing() -> None:
    assert render('{% notebook "/staff/" %}').strip() == ""
    assert render('{% notebook "/alice/" %}', username="bob").strip() == ""
    assert frames(render('{% notebook "/staff/" %}', username="bob"))


def test_denied_with_as_takes_the_else_branch() -> None:
    source = '{% notebook "/staff/" as nb %}{% if nb.allowed %}[{{ nb }}]{% else %}no{% endif %}'
    assert render(source) == "no"
    assert frames(render(source, username="bob"))


def test_anonymous_on_a_login_notebook_gets_a_sign_in_link() -> None:
    html = render('{% notebook "meta" title="Team" %}', username=None)
    assert not frames(html)
    assert "Sign in to see Team" in html
    assert 'href="/accounts/login/?next=/report/%3Fyear%3D2024"' in html


def test_anonymous_on_a_public_notebook_gets_the_frame() -> None:
    assert frames(render('{% notebook "app1" %}', username=None))


def test_url_kwargs_go_to_reverse() -> None:
    [frame] = frames(render('{% notebook "item" item=7 %}'))
    assert frame["src"] == "/items/7/?nh-embed=auto"


def test_query_is_checked_and_canonical() -> None:
    html = render('{% notebook "items" query=q %}', q={"limit": 5, "tags": ["a", "c"]})
    [frame] = frames(html)
    assert frame["src"] == (
        "/items/?limit=5&offset=0&order_by=created_at&tags=a&tags=c&nh-embed=auto"
    )


def test_query_without_params_is_passed_as_given() -> None:
    [frame] = frames(render('{% notebook "app1" query=q %}', q={"x": [1, 2], "on": True}))
    assert frame["src"] == "/app1/?x=1&x=2&on=true&nh-embed=auto"


def test_invalid_query_shows_the_errors(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="notebook_host.embed"):
        html = render('{% notebook "items" query=q %}', q={"limit": 0, "colour": "red"})
    assert not frames(html)
    assert "notebook-host-embed--invalid" in html
    assert "<code>limit</code>" in html and "<code>colour</code>" in html
    assert "greater than or equal to 1" in html
    assert any("invalid query" in r.getMessage() for r in caplog.records)


def test_invalid_query_is_not_shown_to_those_denied() -> None:
    html = render('{% notebook "/login-items/" query=q %}', username=None, q={"limit": 0})
    assert "Sign in to see" in html and "limit" not in html


def test_host_page_with_an_invalid_query_still_answers_200() -> None:
    response = Client().get("/embed/host/")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"  # the host page keeps its own
    html = response.content.decode()
    assert [f["src"] for f in frames(html) if f.get("class") == "notebook-host-frame"] == [
        "/grow/?nh-embed=auto",
        "/app1/?nh-embed=fixed",
    ]
    assert "notebook-host-embed--invalid" in html


@override_settings(DEBUG=True)
def test_unknown_url_name_raises_in_debug() -> None:
    with pytest.raises(NoReverseMatch, match="no-such-notebook"):
        render('{% notebook "no-such-notebook" %}')


@override_settings(DEBUG=False)
def test_unknown_url_name_logs_and_leaves_a_placeholder(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="notebook_host.embed"):
        html = render('<p>before</p>{% notebook "no-such-notebook" %}<p>after</p>')
    assert '<div class="notebook-host-embed notebook-host-embed--missing" hidden></div>' in html
    assert "<p>after</p>" in html
    assert any("no-such-notebook" in r.getMessage() for r in caplog.records)


@override_settings(DEBUG=True)
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('{% notebook "plain" %}', "not a notebook page"),
        ('{% notebook "/nowhere/" %}', "no URL pattern serves"),
        ('{% notebook "apps" %}', "folder listing"),
        ('{% notebook "/app1/?x=1" %}', "query=..."),
        ('{% notebook "app1" height=h %}', "height="),
        ('{% notebook "app1" loading=l %}', "loading="),
        ('{% notebook "app1" query=3 %}', "query must be a dict"),
    ],
)
def test_broken_tags_raise_in_debug(source: str, message: str) -> None:
    with pytest.raises(EmbedConfigError, match=re.escape(message)):
        render(source, h="tall", l="soon")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% notebook %}", "needs a URL name"),
        ('{% notebook "app1" "extra" %}', "unexpected"),
        ('{% notebook "app1" height="12 parsecs" %}', "height="),
        ('{% notebook "app1" loading="later" %}', "loading="),
    ],
)
def test_literal_mistakes_fail_when_the_template_is_compiled(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=re.escape(message)):
        ENGINE.from_string("{% load notebook_host %}" + source)


def test_fixed_height_and_eager_loading() -> None:
    [frame] = frames(render('{% notebook "app1" height="480px" loading="eager" %}'))
    assert frame["src"] == "/app1/?nh-embed=fixed"
    assert "height: 480px" in frame["style"]
    assert frame["data-notebook-height"] == "fixed"
    assert frame["loading"] == "eager"
    [frame] = frames(render('{% notebook "app1" height=300 %}'))
    assert "height: 300px" in frame["style"]


def test_request_is_required() -> None:
    template = ENGINE.from_string('{% load notebook_host %}{% notebook "app1" %}')
    with override_settings(DEBUG=True), pytest.raises(EmbedConfigError, match="request"):
        template.render({})


@override_settings(DEBUG=True)
def test_rendering_on_the_event_loop_is_refused() -> None:
    request = host_request("alice")
    template = ENGINE.from_string('{% load notebook_host %}{% notebook "app1" %}')

    async def on_loop() -> str:
        return template.render({}, request)

    with pytest.raises(EmbedConfigError, match="sync view"):
        asyncio.run(on_loop())


def test_registered_notebook_by_namespaced_name() -> None:
    Row.objects.create(slug="team", title="Team", path="test_app.py", access="login")
    source = '{% notebook "notebook_host:notebook" slug="team" %}'
    [frame] = frames(render(source))
    assert frame["src"] == "/registered/team/?nh-embed=auto"
    Row.objects.filter(slug="team").update(enabled=False)
    assert render(source).strip() == ""  # gone: nothing, as the page's 404


def test_over_a_session_limit_the_frame_explains_itself() -> None:
    """The page would answer 429 and retry by itself: the tag still frames it."""
    create_test_users()
    alice = get_user_model().objects.get(username="alice")
    [notebook] = [n for n in iter_notebooks() if n.name == "app1"]
    directory = session_directory.directory
    directory.record(
        LocalRecord(
            session_id="s_embed_limit",
            notebook=notebook,
            page_query=b"",
            user_id=alice.pk,
            limit_key=f"user:{alice.pk}",
            sockets=1,
        )
    )
    try:
        with override_settings(NOTEBOOK_HOST={"MAX_SESSIONS_PER_USER": 1}):
            assert limits.check(directory, f"user:{alice.pk}") is not None
            [frame] = frames(render('{% notebook "app1" %}'))
    finally:
        directory.forget("s_embed_limit")
    assert frame["src"] == "/app1/?nh-embed=auto"


# -- the embed marker, framing headers, FRAME_ANCESTORS ------------------------

SELF_ONLY = "frame-ancestors 'self'"


def test_scope_marker_is_removed_byte_for_byte() -> None:
    scope = {"query_string": b"b=%20x&nh-embed=auto&a=1"}
    assert take_scope_marker(scope) == "auto"
    assert scope["query_string"] == b"b=%20x&a=1"
    untouched = {"query_string": b"a=1&a=2"}
    assert take_scope_marker(untouched) is None
    assert untouched["query_string"] == b"a=1&a=2"


async def test_fast_path_answers_carry_the_framing_headers() -> None:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    wrapped = framing_send(send)
    await wrapped(
        {"type": "http.response.start", "status": 200, "headers": [(b"x-frame-options", b"DENY")]}
    )
    await wrapped({"type": "http.response.body", "body": b"{}"})
    headers = dict(sent[0]["headers"])
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    assert headers[b"content-security-policy"] == SELF_ONLY.encode()
    assert sent[1] == {"type": "http.response.body", "body": b"{}"}


@pytest.mark.parametrize(
    "value",
    [
        "https://a.example",  # a string, not a list
        ["https://a.example/path"],
        ["https://*.example.com"],
        ["'self'"],
        ["https://a.example; script-src *"],
        ["HTTPS://A.EXAMPLE"],
        ["ftp://a.example"],
        [42],
    ],
)
def test_frame_ancestors_are_validated(value: object) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"FRAME_ANCESTORS": value}),
        pytest.raises(ImproperlyConfigured, match="FRAME_ANCESTORS"),
    ):
        get_config()
    get_config.cache_clear()


def test_frame_ancestors_accepts_origins() -> None:
    origins = ["https://intranet.example.com", "http://127.0.0.1:8001"]
    with override_settings(NOTEBOOK_HOST={"FRAME_ANCESTORS": origins}):
        assert get_config()["FRAME_ANCESTORS"] == origins
        assert dict(framing_headers())["Content-Security-Policy"] == (
            "frame-ancestors 'self' https://intranet.example.com http://127.0.0.1:8001"
        )


# The sizing script, the sandbox and the theme (issue 25) --------------------------


def test_sizing_script_is_inline_and_carries_the_pages_csp_nonce() -> None:
    html = render('{% notebook "app1" %}', csp_nonce="n0nce")
    assert '<script data-notebook-host-embed nonce="n0nce">' in html
    assert "/static/" not in html
    # django-csp keeps the nonce on the request.
    request = host_request("alice")
    request.csp_nonce = "fromrequest"
    html = ENGINE.from_string('{% load notebook_host %}{% notebook "app1" %}').render({}, request)
    assert 'nonce="fromrequest"' in html
    assert "nonce=" not in render('{% notebook "app1" %}')  # no CSP: no attribute


@override_settings(
    NOTEBOOK_HOST={"EMBED_SANDBOX": ["allow-scripts", "allow-same-origin", "allow-modals"]}
)
def test_embed_sandbox_is_configurable() -> None:
    [frame] = frames(render('{% notebook "app1" %}'))
    assert frame["sandbox"] == "allow-scripts allow-same-origin allow-modals"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("allow-scripts allow-same-origin", "must be a list"),
        (["allow-scripts", "allow-same-origin", "allow-modal"], "unknown token"),
        (["allow-scripts", "allow-forms"], "lacks ['allow-same-origin']"),
    ],
)
def test_bad_embed_sandbox_is_a_clear_error(value: Any, message: str) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"EMBED_SANDBOX": value}),
        pytest.raises(ImproperlyConfigured, match=re.escape(message)),
    ):
        get_config()


def test_theme_option_reaches_the_frame() -> None:
    [frame] = frames(render('{% notebook "app1" theme="dark" %}'))
    assert frame["src"] == "/app1/?theme=dark&nh-embed=auto"
    [frame] = frames(render('{% notebook "app1" theme=t query=q %}', t="light", q={"theme": "x"}))
    assert frame["src"] == "/app1/?theme=light&nh-embed=auto"
    with pytest.raises(TemplateSyntaxError, match="theme='blue'"):
        render('{% notebook "app1" theme="blue" %}')
