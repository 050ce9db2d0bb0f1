"""Kernel isolation: each run-mode session in its own forked process.

- :mod:`.settings`: the limits (no marimo import; any layer may read it);
- :mod:`.wire`: framed messages and file descriptors over a Unix socket;
- :mod:`.template`: the warm, single-threaded process per notebook that forks;
- :mod:`.child`: what a forked child does (limits, marimo's kernel loop);
- :mod:`.templates`: the server's side of a template, one pool per notebook;
- :mod:`.kernel`: marimo's kernel and queue managers for a forked child.

Importing this package imports nothing heavy: the template runs it as a script.
"""
