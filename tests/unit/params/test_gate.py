"""The page and socket checks, in process (the live tests run them over daphne)."""

from __future__ import annotations

import secrets

import pytest
from django import forms
from django.http import HttpResponse, HttpResponseRedirect
from django.test import RequestFactory

from devtools.params_cookies import notebook, page_cookie, socket_scope
from devtools.params_forms import Region
from notebook_host.params.declarations import NotebookParams
from notebook_host.params.gate import (
    COOKIE,
    MAX_COOKIE_CHARS,
    InvalidParams,
    check_page,
    check_socket,
    remember,
)
from notebook_host.params.query import Checked

CANONICAL = "limit=5&offset=0&order_by=created_at&tags=a&tags=b"


def page(query: str, **headers) -> object:
    return check_page(RequestFactory().get("/items/?" + query, headers=headers), notebook())


class TestPage:
    def test_no_form_no_check(self) -> None:
        request = RequestFactory().get("/x/?anything=1")
        assert check_page(request, notebook(None)) is None

    def test_invalid_is_400_html_or_json(self) -> None:
        html = page("limit=0")
        assert isinstance(html, HttpResponse) and html.status_code == 400
        assert b"<dt>limit</dt>" in html.content
        as_json = page("limit=0", accept="application/json")
        assert as_json.status_code == 400
        assert as_json["Content-Type"] == "application/json"

    def test_non_canonical_redirects(self) -> None:
        answer = page("tags=a&tags=b&limit=5")
        assert isinstance(answer, HttpResponseRedirect)
        assert answer.url == f"/items/?{CANONICAL}"

    def test_canonical_is_served(self) -> None:
        answer = page(CANONICAL)
        assert isinstance(answer, Checked) and answer.query == CANONICAL

    @pytest.mark.parametrize(
        "marimo", ["kiosk=true", "session_id=s1", "show-chrome=false", "view-as=slides"]
    )
    def test_marimo_params_never_rejected_nor_looping(self, marimo: str) -> None:
        answer = page(f"{CANONICAL}&{marimo}")
        assert isinstance(answer, Checked), answer
        moved = page(f"{marimo}&{CANONICAL}")
        assert isinstance(moved, HttpResponseRedirect)
        assert moved.url == f"/items/?{CANONICAL}&{marimo}"
        assert isinstance(page(moved.url.split("?", 1)[1]), Checked)

    def test_unstable_canonical_is_served_not_redirected(self) -> None:
        class Growing(forms.Form):
            word = forms.CharField(required=False)

            def clean_word(self) -> str:
                return self.cleaned_data["word"] + "x"

        request = RequestFactory().get("/g/?word=a")
        answer = check_page(request, notebook(Growing))
        assert isinstance(answer, Checked)


class TestSocket:
    def test_no_form_no_check(self) -> None:
        assert check_socket(socket_scope("a=1"), notebook(None)) is None

    def test_invalid_raises(self) -> None:
        with pytest.raises(InvalidParams) as raised:
            check_socket(socket_scope("session_id=s&limit=0"), notebook())
        assert "limit" in raised.value.errors

    def test_kernel_query_and_page_query(self) -> None:
        kernel, page_query = check_socket(socket_scope("session_id=s1&limit=5"), notebook())
        assert kernel == b"session_id=s1&limit=5&offset=0&order_by=created_at"
        assert page_query == b"limit=5&offset=0&order_by=created_at"

    def test_repeated_values_recovered_from_the_page_cookie(self) -> None:
        cookie = page_cookie(CANONICAL, "limit=9&tags=c")
        lossy = "session_id=s1&limit=5&offset=0&order_by=created_at&tags=b"
        _, page_query = check_socket(socket_scope(lossy, cookie), notebook())
        assert page_query.decode() == CANONICAL
        # The other tab's page, from the same cookie.
        other = "session_id=s2&limit=9&offset=0&order_by=created_at&tags=c"
        _, page_query = check_socket(socket_scope(other, cookie), notebook())
        assert page_query.decode() == "limit=9&offset=0&order_by=created_at&tags=c"

    def test_no_matching_candidate_keeps_the_socket_values(self) -> None:
        cookie = page_cookie(CANONICAL)
        _, page_query = check_socket(socket_scope("tags=a", cookie), notebook())
        assert page_query.decode() == "limit=100&offset=0&order_by=created_at&tags=a"

    def test_forged_or_foreign_cookie_is_ignored(self) -> None:
        lossy = "limit=5&offset=0&order_by=created_at&tags=b"
        for cookie in ("junk", "a:b:c", page_cookie(CANONICAL) + "x"):
            _, page_query = check_socket(socket_scope(lossy, cookie), notebook())
            assert page_query.decode() == lossy

    def test_cookie_stays_small(self) -> None:
        request = RequestFactory().get("/r/")
        response = HttpResponse()
        long_values = NotebookParams(Region).check([("region", "north")])
        huge = Checked(errors={}, pairs=[("tags", secrets.token_hex(3000))])
        remember(response, request, huge, "/r")
        assert COOKIE not in response.cookies
        remember(response, request, long_values, "/r")
        assert len(response.cookies[COOKIE].value) <= MAX_COOKIE_CHARS


def test_close_reason_fits_a_close_frame() -> None:
    from notebook_host.params.gate import close_reason

    reason = close_reason(InvalidParams({"tags": ["é" * 200]}))
    assert reason.startswith("invalid query parameters: ")
    assert len(reason.encode()) <= 123
