"""The test project with nothing serving ``/static/``, as a fresh site under daphne.

No ServeStatic middleware and no marimo finder: marimo's assets fall back
to each notebook's path, and ``{% notebook %}`` must size its frames without
any static file. DEBUG follows DJANGO_DEBUG (the test runs both).
"""

from tests.projects.default.settings import *  # noqa: F403
from tests.projects.default.settings import MIDDLEWARE, STATICFILES_FINDERS

ROOT_URLCONF = "tests.projects.nostatic.urls"
MIDDLEWARE = [entry for entry in MIDDLEWARE if not entry.startswith("servestatic.")]
STATICFILES_FINDERS = [entry for entry in STATICFILES_FINDERS if "Marimo" not in entry]
