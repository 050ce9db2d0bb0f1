"""Writable copies of the test notebook folders, for a live server's environment."""

from __future__ import annotations

import shutil
from pathlib import Path

from devtools.live import ROOT

NOTEBOOKS = ROOT / "tests" / "notebooks"


def make_folders(workdir: Path) -> dict[str, str]:
    """Writable copies of the test folders, and the env naming them.

    ``apps/`` is a copy of tests/notebooks/apps plus ``escape.py``, a symlink
    to a notebook outside it; ``current`` is a symlink to ``releases/one``,
    for atomic-deploy swaps.
    """
    apps = workdir / "apps"
    shutil.copytree(NOTEBOOKS / "apps", apps)
    outside = workdir / "outside.py"
    shutil.copy(NOTEBOOKS / "apps" / "test_app.py", outside)
    (apps / "escape.py").symlink_to(outside)
    for release in ("one", "two"):
        folder = workdir / "releases" / release
        folder.mkdir(parents=True)
        source = (NOTEBOOKS / "apps" / "test_app.py").read_text()
        (folder / "test_app.py").write_text(source.replace("Test App", f"Release {release}"))
    (workdir / "current").symlink_to(workdir / "releases" / "one")
    return {
        "NOTEBOOK_HOST_TEST_APPS": str(apps),
        "NOTEBOOK_HOST_TEST_SWAP": str(workdir / "current"),
    }
