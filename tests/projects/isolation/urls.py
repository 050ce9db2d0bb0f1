"""One notebook that reports its process and misbehaves on demand."""

from pathlib import Path

from django.urls import include, path

from notebook_host.urls import notebook

NB = Path(__file__).parents[2] / "notebooks"

urlpatterns = [
    notebook("iso/", NB / "isolation.py", access="public"),
    path("registered/", include("notebook_host.urls")),  # health/ counts the processes
    path("plain/", lambda request: __import__("django.http").http.HttpResponse("plain")),
]
