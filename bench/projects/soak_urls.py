"""The soak's URLconf: the demo project's, plus the stats probe (bench/probe.py)."""

from django.urls import path

from bench.probe import stats
from project.urls import urlpatterns as demo_urlpatterns

urlpatterns = [path("_bench/stats", stats), *demo_urlpatterns]
