"""Cost of checking a notebook's query parameters, per page and per socket.

    python -m bench.params_check

Times ``NotebookParams.check`` for the tests' ItemFilter form and ItemModel
Pydantic model on ``limit=5&offset=0&order_by=created_at&tags=a&tags=b``,
the size of the socket cookie with 1 and 8 remembered queries, and
``check_socket`` recovering the repeated tags from an 8-query cookie.
"""

from __future__ import annotations

import os
import timeit


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.projects.default.settings")
    import django

    django.setup()
    from devtools.params_cookies import notebook, page_cookie, socket_scope
    from devtools.params_forms import ItemFilter, ItemModel
    from notebook_host.params.declarations import NotebookParams
    from notebook_host.params.gate import check_socket
    from notebook_host.params.query import parse_query

    query = "limit=5&offset=0&order_by=created_at&tags=a&tags=b"
    pairs = parse_query(query)
    for source in (ItemFilter, ItemModel):
        params = NotebookParams(source)
        n = 20_000
        seconds = timeit.timeit(lambda p=params: p.check(pairs), number=n)
        print(f"{source.__name__:10} check: {seconds / n * 1e6:7.1f} µs")
    one = page_cookie(query)
    many = page_cookie(*[query.replace("limit=5", f"limit={i}") for i in range(1, 12)])
    print(f"cookie: {len(one)} chars with 1 query, {len(many)} with 8")
    scope = socket_scope("session_id=s1&limit=5&offset=0&order_by=created_at&tags=b", many)
    n = 5_000
    seconds = timeit.timeit(lambda: check_socket(scope, notebook()), number=n)
    print(f"check_socket, 8-query cookie: {seconds / n * 1e6:7.1f} µs")


if __name__ == "__main__":
    main()
