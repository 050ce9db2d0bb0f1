"""Demo URLconf: Django's admin and login, the demo notebooks and the registered ones."""

from django.contrib import admin
from django.urls import include, path

from notebook_host.urls import notebook
from project.params import ItemFilter
from project.views import report

NOTEBOOKS = "notebooks"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # Notebooks registered in the admin: /notebooks/ lists them, /notebooks/<slug>/
    # serves one; /notebooks/openapi.json documents every route, /notebooks/health/.
    path("notebooks/", include("notebook_host.urls")),
    # A page of the site's own layout embedding notebooks ({% notebook %}).
    path("report/", report, name="report"),
    notebook("dashboard/", f"{NOTEBOOKS}/dashboard.py", name="dashboard"),
    notebook("items/", f"{NOTEBOOKS}/items.py", params=ItemFilter, name="items"),
    notebook("whoami/", f"{NOTEBOOKS}/whoami.py", name="whoami"),
    notebook("code/", f"{NOTEBOOKS}/with_code.py", access="staff", include_code=True, name="code"),
    notebook("", f"{NOTEBOOKS}/index.py", access="public", name="index"),
]
