"""ASGI entry point: ``daphne project.asgi:application``."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from notebook_host.asgi import get_asgi_application

application = get_asgi_application()
