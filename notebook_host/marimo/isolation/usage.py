"""What one session process uses, read from /proc: resident memory and CPU seconds.

The admin shows it per session (through the session's row); reading two
small files per session per poll is cheaper than any sampling.
"""

from __future__ import annotations

import os
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def usage(pid: int) -> tuple[float, float] | None:
    """(resident MiB, CPU seconds) of process ``pid``; None when it is gone."""
    try:
        statm = Path(f"/proc/{pid}/statm").read_text().split()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # After the command name (in parentheses, may hold spaces): state is
    # field 3, utime and stime fields 14 and 15 (proc(5)).
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    return int(statm[1]) * _PAGE / 2**20, cpu
