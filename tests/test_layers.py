"""The package is layered: every import of a circle module points down, and none forms a cycle.

Each module belongs to one layer (top to bottom: cli, façade, presentation, analysis, demand,
engine, inputs, base). A module may import modules of its own layer or of the layers below,
never above, and the imports (top-level, inside functions and under ``TYPE_CHECKING`` alike)
form no cycle. A new module must be placed in :data:`LAYERS` before it is used, which is where
a newcomer reads which module does what.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "circle"

#: Bottom to top. The root ``circle/__init__`` only re-exports names lazily and is exempt.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "errors",
            "defaults",
            "_validate",
            "_io",
            "_cache",
            "_gc",
            "_pbf",
            "_inline",
            "_options",
            "categories",
            "i18n",
            "coords",
            "_read",
            "walking",
            "presets",
        ),
    ),
    ("inputs", ("network", "facilities", "osm_tags", "scenario", "datasets")),
    ("engine", ("access", "terrain")),
    ("demand", ("areas",)),
    ("analysis", ("coverage", "capacity", "isochrones", "comparison", "siting")),
    (
        "presentation",
        (
            "report",
            "report.tables",
            "report.method",
            "report.xlsx",
            "report.markdown",
            "report.siting",
            "report.batch",
            "maps",
            "siting_map",
        ),
    ),
    ("façade", ("study", "batch")),
    ("cli", ("cli", "__main__")),
]

RANK = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Every circle module `path` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "circle":
                found.update(f"circle.{alias.name}" for alias in node.names)
            elif node.module.startswith("circle."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("circle."))
    known = set(_modules())
    out = set()
    for name in found:
        module = name.removeprefix("circle.")
        # `from circle import __version__` names an attribute of the root, not a module.
        if module in known and module:
            out.add(module)
    return out


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in _modules().items():
        if not module:
            continue
        graph.add_node(module)
        for target in _imports(path):
            if target != module:
                graph.add_edge(module, target)
    return graph


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in _modules() if m and m not in RANK)
    assert not unplaced, f"place these modules in tests/test_layers.py LAYERS: {unplaced}"


def test_imports_point_down():
    upward = [
        f"{a} ({LAYERS[RANK[a]][0]}) imports {b} ({LAYERS[RANK[b]][0]})"
        for a, b in _graph().edges
        if RANK[b] > RANK[a]
    ]
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_no_import_cycle():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from circle.study import Study\n", {"study"}),
        ("def f():\n    from circle import maps as m\n", {"maps"}),
        ("if TYPE_CHECKING:\n    from circle.report.tables import X\n", {"report.tables"}),
        ("from circle import __version__\n", set()),
    ],
)
def test_the_check_sees_every_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert _imports(path) == expected


def test_the_check_finds_an_upward_import(monkeypatch):
    original = _imports

    def with_an_upward_import(path: Path) -> set[str]:
        found = original(path)
        return found | {"study"} if _module_name(path) == "coverage" else found

    monkeypatch.setitem(globals(), "_imports", with_an_upward_import)
    edges = set(_graph().edges)
    assert ("coverage", "study") in edges
    assert RANK["study"] > RANK["coverage"]
    assert list(nx.simple_cycles(_graph()))  # study imports coverage: a cycle too


def test_the_command_line_starts_without_the_heavy_libraries():
    """`circle --help` must stay quick: building the CLI imports no pandas, geopandas or scipy."""
    import subprocess
    import sys

    code = (
        "import sys, circle, circle.cli; "
        "print(sorted(m for m in ('pandas', 'geopandas', 'scipy', 'shapely', 'folium', 'numpy')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
