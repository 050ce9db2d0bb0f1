"""The documentation site tells the truth about the code.

- The settings reference (docs/settings.md) lists exactly the keys of
  ``NOTEBOOK_HOST``'s defaults, each with a type that fits its default and
  the default the code has.
- The system checks page lists exactly the check ids the package registers.
- Every sample marked ``<!-- run: settings-base | settings | urls | asgi -->``
  runs in a throwaway project made by ``django-admin startproject mysite``:
  settings samples are laid over the base sample, URLconf samples become the
  root URLconf, and ``manage.py check --fail-level WARNING`` must pass for
  each; ASGI samples must import and build the application.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from notebook_host import conf

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "notebook_host"
ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|\s*`([^`]*)`\s*\|", re.M)
MARK = re.compile(r"<!-- run: ([a-z-]+) -->\n```python\n(.*?)\n```", re.S)
NOTEBOOK_FILE = re.compile(r"""["']((?:[\w.-]+/)*[\w-]+\.py)["']""")
FOLDER = re.compile(r"""BASE_DIR / ["']([\w./-]+)["']""")
KINDS = {"settings-base", "settings", "urls", "asgi"}
DOTTED = re.compile(r"`(notebook_host(?:\.\w+)+)")
# Dotted names that are not Python objects: check ids and permission names.
NOT_OBJECTS = re.compile(r"^notebook_host\.([EWI]\d{3}|(add|change|delete|view|deploy)_\w+)$")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)(?:::([\w:]+))?`")
CHECK_TIMEOUT = 120
NOTEBOOK = """import marimo

app = marimo.App()


@app.cell
def _():
    return


if __name__ == "__main__":
    app.run()
"""
TYPE_NAMES = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    tuple: "tuple",
    type(None): "None",
}


@dataclass(frozen=True)
class Sample:
    """One runnable code block of a page."""

    page: str
    kind: str
    code: str

    @property
    def label(self) -> str:
        return f"{self.page}:{self.kind}:{self.code.splitlines()[0][:40]}"


def reference_rows() -> dict[str, tuple[str, str]]:
    """Key -> (type cell, default cell) of the settings reference tables."""
    text = (DOCS / "settings.md").read_text()
    rows: dict[str, tuple[str, str]] = {}
    for key, type_cell, default in ROW.findall(text):
        assert key not in rows, f"{key} is documented twice in docs/settings.md"
        rows[key] = (type_cell.strip(), default)
    return rows


def samples() -> list[Sample]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for kind, code in MARK.findall(page.read_text()):
            assert kind in KINDS, f"{page.name}: unknown sample kind {kind!r}"
            found.append(Sample(page.name, kind, code))
    return found


def test_every_default_key_is_documented_and_nothing_else() -> None:
    documented = set(reference_rows())
    keys = set(conf.DEFAULTS)
    assert not keys - documented, (
        f"NOTEBOOK_HOST keys missing from docs/settings.md: {sorted(keys - documented)}"
    )
    assert not documented - keys, (
        f"docs/settings.md documents keys that do not exist: {sorted(documented - keys)}"
    )


def test_documented_defaults_and_types_match_the_code() -> None:
    for key, (type_cell, default_cell) in reference_rows().items():
        default = conf.DEFAULTS[key]
        assert ast.literal_eval(default_cell) == default, (
            f"docs/settings.md says {key} defaults to {default_cell}, the code has {default!r}"
        )
        name = "list" if isinstance(default, list) else TYPE_NAMES[type(default)]
        assert name in type_cell, (
            f"docs/settings.md: {key} is typed {type_cell!r}, default is {name}"
        )


def test_option_keys_are_in_the_options_table() -> None:
    text = (DOCS / "settings.md").read_text()
    options = text[text.index("## Per-notebook options") :]
    assert {key for key, _, _ in ROW.findall(options)} == set(conf.OPTION_KEYS)


def test_checks_page_lists_the_registered_check_ids() -> None:
    registered = set()
    for module in PACKAGE.rglob("*.py"):
        registered |= set(
            re.findall(r"""["'](notebook_host\.[EWI]\d{3})["']""", module.read_text())
        )
    documented = set(re.findall(r"`(notebook_host\.[EWI]\d{3})`", (DOCS / "checks.md").read_text()))
    assert registered, "no system check ids found in the package"
    assert registered == documented


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then walk its attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_every_dotted_name_in_the_docs_exists() -> None:
    names = set()
    for page in DOCS.glob("*.md"):
        names |= {n for n in DOTTED.findall(page.read_text()) if not NOT_OBJECTS.match(n)}
    assert names, "no notebook_host names found in the docs"
    # Logger names the package uses are names too, though not modules.
    loggers = set()
    for module in PACKAGE.rglob("*.py"):
        text = module.read_text()
        loggers |= set(re.findall(r"""getLogger\(["'](notebook_host[\w.]*)["']\)""", text))
        loggers |= set(re.findall(r"""_LOGGER = ["'](notebook_host[\w.]*)["']""", text))
    names -= loggers
    missing = []
    for name in sorted(names):
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"docs name objects that do not exist: {missing}"


def test_every_test_the_docs_cite_exists() -> None:
    """The security page names the test behind each defence; those tests must exist."""
    cited = set()
    for page in DOCS.glob("*.md"):
        cited |= set(TEST_REF.findall(page.read_text()))
    assert cited, "no tests cited in the docs"
    missing = []
    for path, name in sorted(cited):
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif name and not all(
            re.search(rf"^\s*(async )?(def|class) {part}\b", source.read_text(), re.M)
            for part in name.split("::")
        ):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs cite tests that do not exist: {missing}"


def test_the_samples_cover_settings_urls_and_asgi() -> None:
    kinds = [sample.kind for sample in samples()]
    assert kinds.count("settings-base") == 1, "exactly one page holds the base settings sample"
    assert {"settings", "urls", "asgi"} <= set(kinds)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``startproject mysite`` with the base settings sample laid over it."""
    root = tmp_path_factory.mktemp("docs-project")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)],
        check=True,
        timeout=CHECK_TIMEOUT,
    )
    (base,) = [s for s in samples() if s.kind == "settings-base"]
    package = root / "mysite"
    (package / "settings_base.py").write_text(
        f"from .settings import *  # noqa: F403\n\n{base.code}\n"
    )
    return root


def materialise(root: Path, code: str) -> None:
    """Create the notebook files and folders a sample names, under BASE_DIR."""
    for folder in FOLDER.findall(code):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOK_FILE.findall(code):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(NOTEBOOK)


def run_check(root: Path, settings_module: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
    )


RUNNABLE = [s for s in samples() if s.kind != "settings-base"]


@pytest.mark.parametrize("sample", RUNNABLE, ids=[s.label for s in RUNNABLE])
def test_sample_runs_in_a_throwaway_project(project: Path, sample: Sample) -> None:
    index = RUNNABLE.index(sample)
    package = project / "mysite"
    materialise(project, sample.code)
    if sample.kind == "asgi":
        module = f"asgi_sample_{index}"
        code = sample.code.replace('"mysite.settings"', '"mysite.settings_base"')
        (package / f"{module}.py").write_text(code + "\n")
        env = {**os.environ, "PYTHONPATH": str(project)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        probe = f"import mysite.{module} as m; assert callable(m.application); print('ok')"
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
        )
        assert result.returncode == 0 and "ok" in result.stdout, result.stderr
        return
    settings = f"settings_sample_{index}"
    body = "from .settings_base import *  # noqa: F403\n\n"
    if sample.kind == "urls":
        (package / f"urls_sample_{index}.py").write_text(sample.code + "\n")
        body += f'ROOT_URLCONF = "mysite.urls_sample_{index}"\n'
    else:
        body += sample.code + "\n"
    (package / f"{settings}.py").write_text(body)
    result = run_check(project, f"mysite.{settings}")
    assert result.returncode == 0, f"{sample.label}\n{result.stdout}\n{result.stderr}"
    assert "System check identified no issues" in result.stdout, result.stdout
