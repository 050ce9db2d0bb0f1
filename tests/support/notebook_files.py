"""Notebook sources for the admin tests: good, broken, and not notebooks."""

from pathlib import Path

NB = Path(__file__).parent.parent / "notebooks"

GOOD = (NB / "apps" / "test_app.py").read_bytes()
NOT_MARIMO = (NB / "not_marimo.py").read_bytes()
BROKEN = (NB / "broken.py").read_bytes()
MULTIPLE = b"""import marimo

app = marimo.App()


@app.cell
def _():
    x = 1
    return (x,)


@app.cell
def _():
    x = 2
    return (x,)
"""


def titled(title: str, output: str) -> bytes:
    """A good notebook with its own title and output text."""
    return GOOD.replace(b"Test App", title.encode()).replace(b"test-app-output", output.encode())
