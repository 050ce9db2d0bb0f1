"""The demo's own Django pages (not notebooks)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def report(request: HttpRequest) -> HttpResponse:
    """A page of the site's own layout embedding notebooks with {% notebook %}.

    A sync view: the tag decides access with the database while rendering.
    """
    return render(
        request,
        "report.html",
        {
            "red": {"limit": 3, "tags": ["red"]},
            "recent": {"limit": 6, "order_by": "updated_at", "tags": ["blue"]},
        },
    )
