"""Runtime state of this process.

Loaded apps, the session directory, LiveSession rows, owners, shutdown hooks.
"""
