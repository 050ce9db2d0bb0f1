"""The benchmark URLconf: one public notebook folder, and the stats probe (bench/probe.py)."""

from __future__ import annotations

import os
from pathlib import Path

from django.urls import path

from bench.probe import stats
from notebook_host.urls import notebook_directory

urlpatterns = [
    path("_bench/stats", stats),
    notebook_directory("apps/", Path(os.environ["BENCH_APPS_DIR"]), access="public"),
]
