"""Serve marimo notebooks as interactive apps inside a Django project."""

__version__ = "0.1.0"
