"""``manage.py notebook_routes``: every notebook route, its access and parameters."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notebook_host.openapi.document import document, routes


class Command(BaseCommand):
    help = "List the notebook routes of the URLconf (--json: the OpenAPI 3.1 document)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the OpenAPI document")

    def handle(self, *args: Any, **options: Any) -> None:
        found = routes()
        if options["json"]:
            self.stdout.write(json.dumps(document(found), indent=2, sort_keys=True))
            return
        for route in found:
            if route.directory is not None:
                self.stdout.write(f"{route.path}  [listing]  access={route.directory.access.label}")
                continue
            assert route.notebook is not None
            params = route.notebook.params
            names = ", ".join(p["name"] for p in params.schemas()) if params else "-"
            self.stdout.write(
                f"{route.path}  {route.notebook.relative_path}  "
                f"access={route.notebook.access.label}  params: {names}"
            )
