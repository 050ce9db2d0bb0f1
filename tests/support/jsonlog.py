"""A logging formatter that writes each record as one JSON line, with its extra fields.

The test settings configure it (``NOTEBOOK_HOST_TEST_KERNEL_LOG``) on the
``notebook_host.kernel`` loggers, as a project would configure any handler.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

#: The fields notebook_host puts on every kernel record.
KERNEL_FIELDS = ("notebook", "notebook_file", "user_id", "session_id", "error_id")
_EXTRA = (*KERNEL_FIELDS, "cell_id", "exception_type", "kernel_traceback", "marimo_logger")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "logger": record.name,
            "level": record.levelname,
            "message": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in _EXTRA if hasattr(record, k)})
        return json.dumps(line, default=str)


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
