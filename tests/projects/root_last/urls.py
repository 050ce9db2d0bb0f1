"""A root notebook listed after other patterns."""

from django.urls import path

from notebook_host.urls import notebook
from tests.projects.default.urls import NB, plain_view

urlpatterns = [
    notebook("app1/", NB / "app1.py", access="public"),
    path("other/", plain_view),
    notebook("", NB / "app2.py", access="public", name="root-last"),
]
