"""No import circles inside notebook_host/, and every deferred import says why.

Circles between subpackages (admission/ importing runtime/ and runtime/
importing admission/, through any modules) are checked too: the ones that
exist today are listed, and a new one fails.

The package's imports are read with ``ast`` (nothing is imported): every
``import`` / ``from ... import`` at module level, inside functions and under
``if TYPE_CHECKING:`` becomes an edge between two notebook_host modules. A
circle is reported as the chain of modules that forms it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "notebook_host"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py")) if "migrations" not in p.parts}


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The notebook_host modules ``module`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        # Importing a.b.c runs a, a.b and a.b.c.
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            candidate = ".".join(parts[:end])
            if candidate in known and candidate != module:
                found.add(candidate)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node)
            add(target)
            for alias in node.names:
                add(f"{target}.{alias.name}")  # `from pkg import submodule`
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def strong_components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Every strongly connected group of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [set(c) for c in components]


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module."""
    return [_one_circle(graph, members) for members in strong_components(graph)]


def _one_circle(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A concrete chain a -> b -> ... -> a inside one component (shortest from its first)."""
    start = min(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph[node] & members):
            if other == start:
                return [*paths[node], start]
            if other not in paths:
                paths[other] = [*paths[node], other]
                queue.append(other)
    raise AssertionError(f"no circle through {start}")  # pragma: no cover


def test_the_package_has_no_import_circle() -> None:
    circles = find_circles(import_graph())
    assert not circles, "import circles in notebook_host/:\n" + "\n".join(
        " -> ".join(circle) for circle in circles
    )


def test_the_circle_finder_names_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_circles(graph) == [["a", "b", "c", "a"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_like_python(tmp_path: Path) -> None:
    node = ast.parse("from ..runtime import shutdown").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _absolute("notebook_host.transports.view", False, node) == "notebook_host.runtime"
    assert _absolute("notebook_host.transports", True, node) == "notebook_host.runtime"


def deferred_imports() -> list[tuple[str, int, str]]:
    """Imports inside a function body with no comment on their line or the one above."""
    missing = []
    for name, path in package_modules().items():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                here, above = lines[node.lineno - 1], lines[node.lineno - 2].strip()
                # a comment on the line, the line above, or above a run of imports
                run = node.lineno - 2
                while run >= 0 and (
                    not lines[run].strip() or lines[run].strip().startswith(("from ", "import "))
                ):
                    run -= 1
                if "#" in here or above.startswith("#") or lines[run].strip().startswith("#"):
                    continue
                missing.append((name, node.lineno, here.strip()))
    return missing


def test_every_function_level_import_says_why() -> None:
    missing = deferred_imports()
    assert not missing, "function-level imports without a comment saying why:\n" + "\n".join(
        f"{name}:{line}: {text}" for name, line, text in missing
    )


def test_only_the_marimo_boundary_imports_marimo() -> None:
    """``marimo`` (public or private) is imported in notebook_host/marimo/ only."""
    outside = []
    for name, path in package_modules().items():
        if name == f"{PACKAGE}.marimo" or name.startswith(f"{PACKAGE}.marimo."):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            outside += [f"{name}: {n}" for n in names if n == "marimo" or n.startswith("marimo.")]
    assert not outside, "marimo imported outside notebook_host/marimo/:\n" + "\n".join(outside)


def test_the_bottom_layers_import_nothing_above_them() -> None:
    """marimo/ imports only itself; runtime/shutdown.py imports nothing of the package."""
    graph = import_graph()
    boundary = f"{PACKAGE}.marimo"
    above = {
        name: sorted(
            b for b in deps if b not in (PACKAGE, boundary) and not b.startswith(boundary + ".")
        )
        for name, deps in graph.items()
        if name == boundary or name.startswith(boundary + ".")
    }
    assert not any(above.values()), f"marimo/ imports the rest of the package: {above}"
    assert graph[f"{PACKAGE}.runtime.shutdown"] <= {PACKAGE, f"{PACKAGE}.runtime"}


#: Who may import whom among the repository's top-level folders: tests/ and
#: bench/ both use devtools/, never each other, and devtools/ uses neither.
FORBIDDEN = {"tests": {"bench"}, "bench": {"tests"}, "devtools": {"tests", "bench"}}


def top_level_imports(path: Path) -> set[str]:
    """The first component of every absolute module ``path`` imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def crossings(root: Path) -> list[str]:
    """``folder/module.py imports other`` for each import FORBIDDEN names.

    Notebook folders are data (some deliberately broken), not modules.
    """
    found = []
    for folder, banned in sorted(FORBIDDEN.items()):
        for path in sorted((root / folder).rglob("*.py")):
            if "notebooks" in path.relative_to(root).parts:
                continue
            for name in sorted(top_level_imports(path) & banned):
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


def test_tests_and_bench_import_devtools_never_each_other() -> None:
    found = crossings(ROOT.parent)
    assert not found, "tests/, bench/ and devtools/ cross:\n" + "\n".join(found)


def test_the_crossing_finder_names_a_crossing(tmp_path: Path) -> None:
    for folder, source in (
        ("tests", "from bench.compare import Target\n"),
        ("tests/notebooks", "import bench\n"),
        ("bench", "def f():\n    import tests.support.hooks\n"),
        ("devtools", "from devtools import live\n"),
    ):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "m.py").write_text(source)
    assert crossings(tmp_path) == [
        "bench/m.py imports tests",
        "tests/m.py imports bench",
    ]


def package_of(module: str) -> str:
    """The subpackage of notebook_host a module belongs to (a top-level module: itself)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto notebook_host's subpackages (and top-level modules)."""
    folded: dict[str, set[str]] = {}
    for module, imported in graph.items():
        here = package_of(module)
        edges = folded.setdefault(here, set())
        edges.update(package_of(other) for other in imported if package_of(other) != here)
    return folded


#: Circles between subpackages that exist today (each a whole strongly
#: connected group, sorted); a new one, or a new member of one, fails below.
KNOWN_PACKAGE_CIRCLES: list[list[str]] = []


def package_circles() -> list[list[str]]:
    """Each group of subpackages that import each other, every member named."""
    return sorted(sorted(group) for group in strong_components(package_graph(import_graph())))


def test_no_new_import_circle_between_subpackages() -> None:
    graph = package_graph(import_graph())
    new = [c for c in package_circles() if c not in KNOWN_PACKAGE_CIRCLES]
    assert not new, "import circles between notebook_host's subpackages:\n" + "\n".join(
        " -> ".join(_one_circle(graph, set(group))) for group in new
    )


def test_the_package_graph_folds_modules_onto_subpackages() -> None:
    graph = {"p.a.x": {"p.b.y"}, "p.b.z": {"p.a.w"}, "p.a.w": set(), "p.b.y": set()}
    assert package_graph(graph) == {"p.a": {"p.b"}, "p.b": {"p.a"}}
    assert [sorted(set(c)) for c in find_circles(package_graph(graph))] == [["p.a", "p.b"]]


def private_imports(root: Path) -> list[str]:
    """``module imports name`` for each private name one package module takes from another.

    marimo's own private names are the marimo boundary's business (and only
    it imports marimo); inside notebook_host a leading underscore means "this
    module only".
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path) if root == ROOT else path.stem
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _absolute(module, path.name == "__init__.py", node)
            if node.level == 0 and not target.startswith(PACKAGE):
                continue
            found += [
                f"{module} imports {target}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    assert private_imports(ROOT) == []


def test_the_private_import_finder_names_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from .b import _hidden, shown\nfrom marimo import _loggers\n")
    (tmp_path / "b.py").write_text("_hidden = shown = 1\n")
    assert private_imports(tmp_path) == ["a imports b._hidden"]
