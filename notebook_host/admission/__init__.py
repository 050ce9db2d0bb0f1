"""Who may drive a kernel: decided here only.

The pipeline (pipeline.py) runs the named checks of checks.py (route,
access, slash, origin, params, owner, limits, body), each beside its rule
(access.py, origin.py, ownership.py, limits.py, marimo/routes.py,
params/gate.py) and declaring the kinds of arrival (arrival.py) it applies
to; a check that says no raises refusals.Refused. Admission decides and
has no side effects: backends/opening.py (the local backend) opens what it admitted.
"""
