"""``manage.py notebook_sessions``: list live kernel sessions, or close some.

It runs in its own process, so it reads the LiveSession rows the servers
write, and closes sessions by flagging rows: the server holding each session
closes it on its next poll (``NOTEBOOK_HOST["LIVE_SESSION_POLL"]`` seconds).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from notebook_host.models import LiveSession
from notebook_host.runtime import session_rows


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Command(BaseCommand):
    help = "List live notebook sessions (notebook, user, age, idle time) and close them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--close", nargs="+", metavar="ID", help="Close these sessions.")
        parser.add_argument(
            "--close-notebook", metavar="SLUG", help="Close every session of this notebook."
        )
        parser.add_argument("--close-all", action="store_true", help="Close every session.")
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="After a close, wait up to this long for the servers to close them.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = session_rows.prune_dead()
        if pruned:
            self.stderr.write(f"Removed {pruned} session(s) of server processes that have ended.")
        targets = self._targets(options)
        if targets is None:
            self._list()
            return
        ids = list(targets.values_list("session_id", flat=True))
        if not ids:
            raise CommandError("No live session matches.")
        session_rows.request_close(targets)
        self.stdout.write(f"Asked the servers to close {len(ids)} session(s).")
        deadline = time.monotonic() + options["wait"]
        while options["wait"] and time.monotonic() < deadline:
            if not LiveSession.objects.filter(session_id__in=ids).exists():
                self.stdout.write("All closed.")
                return
            time.sleep(0.2)
        if options["wait"]:
            left = LiveSession.objects.filter(session_id__in=ids).count()
            raise CommandError(f"{left} session(s) still open after {options['wait']}s.")

    def _targets(self, options: dict[str, Any]) -> Any:
        if options["close_all"]:
            return LiveSession.objects.all()
        if options["close_notebook"]:
            return LiveSession.objects.filter(notebook__slug=options["close_notebook"])
        if options["close"]:
            return LiveSession.objects.filter(session_id__in=options["close"])
        return None

    def _list(self) -> None:
        rows = list(LiveSession.objects.select_related("notebook").order_by("created"))
        if not rows:
            self.stdout.write("No live sessions.")
            return
        now = timezone.now()
        table = [("SESSION", "NOTEBOOK", "USER", "AGE", "IDLE", "SERVER", "CLOSING")]
        for row in rows:
            table.append(
                (
                    row.session_id,
                    row.notebook.slug if row.notebook else row.label,
                    row.username or "(anonymous)",
                    _duration((now - row.created).total_seconds()),
                    _duration((now - row.last_activity).total_seconds()),
                    f"{row.host}:{row.pid}" + (f" ({row.worker})" if row.worker else ""),
                    "yes" if row.close_requested else "",
                )
            )
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            )
