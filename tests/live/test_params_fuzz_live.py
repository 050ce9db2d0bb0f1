"""Property tests: no query string makes a parameter form answer 5xx.

Hypothesis generates query strings, from raw percent-encoded bytes to
well-formed pairs of declared, marimo and unknown names, and sends them to
the live daphne (tests/conftest.py ``live``). Every answer is a 200, a 400 or
a redirect whose target is served without another redirect. The socket
check runs in process on the same inputs: it either refuses (InvalidParams)
or hands marimo a query the form accepts as it is.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.live import LiveServer
from devtools.params_cookies import notebook
from devtools.params_forms import ItemFilter, ItemModel
from notebook_host.params.declarations import NotebookParams
from notebook_host.params.gate import InvalidParams, check_socket
from notebook_host.params.query import parse_query, split_marimo

NAMES = ["limit", "offset", "order_by", "tags", "kiosk", "session_id", "view-as", "x", ""]
values = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["a", "b", "c", "created_at", "updated_at", "", "true", "1e3", "0x10"]),
    st.text(max_size=20),
)
pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), values), max_size=8
)
raw = st.binary(max_size=60).map(lambda b: quote(b, safe="=&;+%"))
queries = st.one_of(pairs.map(lambda p: urlencode(p)), raw)

PAGES = ["/items/", "/pyitems/", "/loose/", "/paramapps/nested/nested_app/"]


@pytest.fixture(scope="module")
def client(live: LiveServer):
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, page=st.sampled_from(PAGES))
def test_no_query_string_answers_5xx(client: httpx.Client, query: str, page: str) -> None:
    url = httpx.URL(page).copy_with(query=query.encode("ascii"))
    response = client.get(url)
    assert response.status_code in (200, 302, 400), (query, response.status_code)
    if response.status_code == 302:
        target = client.get(response.headers["location"])
        assert target.status_code == 200, (query, response.headers["location"])


@settings(max_examples=300, deadline=None)
@given(query=queries, source=st.sampled_from([ItemFilter, ItemModel]))
def test_socket_check_refuses_or_hands_over_valid_values(query: str, source) -> None:
    try:
        checked = check_socket({"query_string": query.encode("latin-1")}, notebook(source))
    except InvalidParams as exc:
        assert exc.errors
        return
    assert checked is not None
    kernel_query, _ = checked
    _, user = split_marimo(parse_query(kernel_query))
    again = NotebookParams(source).check(user)
    assert again.valid and again.pairs == user
