"""ASGI entry point: ``daphne project.asgi:application``."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from notebook_host.asgi import get_asgi_application
from notebook_host.static import serve_collected_static

# With DEBUG off, collected static files are answered before Django.
application = serve_collected_static(get_asgi_application())
