"""Each module of notebook_host holds one concern: none grows past about 300 lines.

A module that needs more is split the way its concern has parts (a
subpackage, as ``workers/front/`` or ``embed/``), not made to fit by
squeezing. Migrations are generated and exempt.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import ROOT

#: "About 300": room for a docstring that grows, not for a second concern.
MOST_LINES = 340


def long_modules(root: Path, most: int) -> list[str]:
    return [
        f"{path.relative_to(root)}: {count} lines"
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.parts and (count := len(path.read_text().splitlines())) > most
    ]


def test_no_module_is_past_about_300_lines() -> None:
    assert long_modules(ROOT / "notebook_host", MOST_LINES) == []


def test_the_finder_names_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text("x = 1\n")
    (tmp_path / "long.py").write_text("x = 1\n" * 5)
    assert long_modules(tmp_path, 4) == ["long.py: 5 lines"]
