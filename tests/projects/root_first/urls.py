"""A root notebook listed before other patterns must not shadow them.

The later patterns start with marimo's own first segments (``api``,
``public``, ``health``, ``logo.png``): they still reach their views.
"""

from django.urls import include, path

from notebook_host.urls import notebook
from tests.projects.default.urls import NB, plain_view

urlpatterns = [
    notebook("", NB / "app2.py", access="public", name="root-first"),
    notebook("app1/", NB / "app1.py", access="public"),
    path("other/", plain_view),
    path("api/items/", plain_view),
    path("public/terms/", plain_view),
    path("health/", plain_view),
    path("logo.png", plain_view),
    path("", include([path("public/inner/", plain_view)])),
]
