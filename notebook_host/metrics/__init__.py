"""Prometheus metrics: what is recorded (:mod:`.record`), the bounded notebook
label (:mod:`.labels`), the front's endpoint (:mod:`.view`) and the worker's
port (:mod:`.server`). Operators read docs/metrics.md.
"""
