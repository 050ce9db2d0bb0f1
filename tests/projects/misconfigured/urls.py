"""A URLconf with a typo in an access rule: the server must refuse to start."""

from notebook_host.urls import notebook
from tests.projects.default.urls import NB

urlpatterns = [notebook("oops/", NB / "app1.py", access="staf")]
