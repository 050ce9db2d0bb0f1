"""Docstrings that cite a pitfall point to one that docs/architecture.md lists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def listed_pitfalls() -> set[int]:
    text = ARCHITECTURE.read_text()
    section = text.split("## Pitfalls", 1)[1].split("\n## ", 1)[0]
    return {int(n) for n in re.findall(r"^(\d+)\. ", section, flags=re.M)}


def cited_pitfalls() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for path in sorted((ROOT / "notebook_host").rglob("*.py")):
        text = path.read_text()
        for match in re.finditer(r"pitfalls? ([\d, and]+?) in docs/architecture\.md", text):
            numbers = {int(n) for n in re.findall(r"\d+", match.group(1))}
            found.setdefault(str(path.relative_to(ROOT)), set()).update(numbers)
    return found


def test_every_cited_pitfall_is_listed() -> None:
    listed = listed_pitfalls()
    assert listed == set(range(1, len(listed) + 1)), "pitfalls are numbered 1..N"
    cited = cited_pitfalls()
    assert cited, "the code cites its pitfalls"
    unknown = {path: numbers - listed for path, numbers in cited.items() if numbers - listed}
    assert not unknown, f"pitfalls cited but not in docs/architecture.md: {unknown}"


def test_no_docstring_points_outside_the_repository() -> None:
    outside = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "notebook_host").rglob("*.py")
        if "DESIGN.md" in path.read_text()
    ]
    assert not outside, f"DESIGN.md is not in the repository; cite docs/architecture.md: {outside}"


def marked_table(path: Path, marker: str) -> list[list[str]]:
    """The rows of the Markdown table between ``<!-- marker -->`` and ``<!-- /marker -->``."""
    text = path.read_text()
    body = text.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in body.strip().splitlines()]
    return [[cell.strip() for cell in row] for row in rows[2:]]  # past header and rule


def test_security_route_table_matches_the_code() -> None:
    from notebook_host.marimo import routes

    rows = {row[0]: row for row in marked_table(ROOT / "docs" / "security.md", "route-table")}
    assert set(rows) == {kind.value for kind in routes.Route}
    for kind, checks in routes.CHECKS.items():
        assert rows[kind.value][2] == ", ".join(checks), kind
    for route in routes.KERNEL_API_ROUTES:
        assert f"`{route}`" in rows[routes.Route.KERNEL_API.value][1], route


def test_close_code_table_matches_the_code() -> None:
    from notebook_host import closecodes

    rows = marked_table(ROOT / "docs" / "sessions.md", "close-codes")
    documented = {int(row[0]) for row in rows}
    named = {
        closecodes.for_browser(value)
        for name, value in vars(closecodes).items()
        if name.isupper() and name != "BROWSER_OFFSET"
    }
    assert documented == named


def test_the_documented_uvicorn_front_is_the_one_tested() -> None:
    # make test's front tier runs devtools.live's flags: the docs and the
    # systemd unit must give operators the same ones.
    from devtools.live import UVICORN_FLAGS

    unit = (ROOT / "deploy" / "systemd" / "notebook-host-front@.service").read_text()
    for text in ((ROOT / "docs" / "deployment.md").read_text(), unit):
        command = re.search(r"uvicorn --host(?:[^\n\\]|\\\n)*", text)
        assert command, "no uvicorn command"
        words = command.group(0).replace("\\\n", " ").split()
        pairs = list(zip(UVICORN_FLAGS[::2], UVICORN_FLAGS[1::2], strict=True))
        for flag, value in pairs:
            assert words[words.index(flag) + 1] == value, (flag, command.group(0))
