"""A root notebook listed before other patterns must not shadow them."""

from django.urls import path

from notebook_host.urls import notebook
from tests.projects.default.urls import NB, plain_view

urlpatterns = [
    notebook("", NB / "app2.py", access="public", name="root-first"),
    notebook("app1/", NB / "app1.py", access="public"),
    path("other/", plain_view),
]
