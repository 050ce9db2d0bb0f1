"""Each of notebook_host's templates can be overridden by the project, as docs/templates.md says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import get_template
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "notebook_host" / "templates"
NAMES = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
DOC = ROOT / "docs" / "templates.md"

pytestmark = pytest.mark.django_db


def test_every_template_is_documented() -> None:
    documented = set(re.findall(r"^\| `(notebook_host/[\w/]+\.html)` \|", DOC.read_text(), re.M))
    assert documented == set(NAMES)


@pytest.fixture
def overrides(tmp_path: Path):
    """A DIRS folder overriding every template with a marker of its name."""
    for name in NAMES:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<p>site look: {name}</p>")
    engine = {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    with override_settings(TEMPLATES=[engine]):
        yield tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_a_project_template_overrides(overrides: Path, name: str) -> None:
    template = get_template(name)
    assert Path(template.origin.name) == overrides / name
    assert template.render({}) == f"<p>site look: {name}</p>"


@pytest.mark.parametrize(
    ("path", "status", "name"),
    [
        ("/missing/", 404, "notebook_host/error.html"),
        ("/apps/", 200, "notebook_host/listing.html"),
        ("/items/?nope=1", 400, "notebook_host/invalid_params.html"),
    ],
)
def test_pages_render_the_override(overrides: Path, path: str, status: int, name: str) -> None:
    response = Client().get(path)
    assert response.status_code == status
    assert response.content.decode() == f"<p>site look: {name}</p>"
