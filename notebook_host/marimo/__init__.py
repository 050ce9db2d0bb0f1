"""The marimo boundary: the only code of notebook_host that imports marimo.

marimo is pinned to an exact version (requirements.txt, pyproject.toml)
because ``marimo._server``, ``marimo._session`` and ``marimo._runtime`` are
not public. Upgrading marimo means reading this package and running the
suite:

- :mod:`.protocol`: every marimo name the rest of the code needs (sub-routes,
  headers, download URLs, the frontend's query names, frame ops, body checks);
- :mod:`.files`: is a file a loadable notebook, and the load errors;
- :mod:`.app`: building a notebook's run-mode app and its kernel sessions;
- :mod:`.patches`: marimo's start-up work (daphne runs no lifespan) and our
  patches of its internals;
- :mod:`.frontend`: marimo's built frontend files and where pages load them from.
"""
