"""Demo URLconf: Django's admin and login, and the demo notebooks."""

from django.contrib import admin
from django.urls import include, path

from notebook_host.urls import notebook
from project.params import ItemFilter

NOTEBOOKS = "notebooks"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    notebook("dashboard/", f"{NOTEBOOKS}/dashboard.py", name="dashboard"),
    notebook("items/", f"{NOTEBOOKS}/items.py", params=ItemFilter, name="items"),
    path("notebook-host/", include("notebook_host.urls")),
    notebook("whoami/", f"{NOTEBOOKS}/whoami.py", name="whoami"),
    notebook("code/", f"{NOTEBOOKS}/with_code.py", access="staff", include_code=True, name="code"),
    notebook("", f"{NOTEBOOKS}/index.py", access="public", name="index"),
]
