"""Where the checkout, the test notebooks and the test projects are, for every tier."""

from pathlib import Path

#: The repository root (the folder holding manage.py).
ROOT = Path(__file__).resolve().parents[2]
#: tests/notebooks/: the notebooks the test projects serve.
NOTEBOOKS = ROOT / "tests" / "notebooks"
