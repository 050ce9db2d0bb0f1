"""The demo's URLconf plus /busy/ (bench/notebooks/busy.py) for the busy-loop figures."""

from __future__ import annotations

from pathlib import Path

from notebook_host.urls import notebook
from project.urls import urlpatterns as demo

BUSY = Path(__file__).resolve().parents[1] / "notebooks" / "busy.py"

urlpatterns = [notebook("busy/", BUSY, name="busy"), *demo]
