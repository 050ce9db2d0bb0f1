"""What a viewer of a notebook page is told while it cannot show outputs yet.

Every served notebook page (whole or framed) gets a small style and script
in its ``<head>``: a missing module is named at the top of the page (read
from the file; the log names notebook and module), and while the first run
takes longer than about a second the page says which cell runs
("Running cell 3 of 8"), read from the kernel socket's own frames.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string

from ..marimo.imports import missing_modules
from ..marimo.page_ops import page_ops
from ..targets.notebook import ServedNotebook
from .bridge import edit_html

#: Milliseconds of a first run before the page says it is running.
PROGRESS_DELAY_MS = 1000


def page_head(notebook: ServedNotebook) -> str:
    """The style, notices and script a notebook page gets in its ``<head>``."""
    config = {"ops": page_ops(), "delay_ms": PROGRESS_DELAY_MS}
    context = {"config": config, "missing": missing_modules(notebook.file)}
    return cast(str, render_to_string("notebook_host/page/notices.html", context))


def inject(response: HttpResponse | StreamingHttpResponse, notebook: ServedNotebook) -> None:
    """Put the notices into a served notebook page."""
    head = page_head(notebook)

    def add_head(html: str) -> str:
        at = html.find("</head>")
        return html[:at] + head + html[at:] if at >= 0 else head + html

    edit_html(response, add_head)
