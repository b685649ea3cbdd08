"""The layers import only downward, and no modules import each other in a circle.

``schemas`` ← ``projections`` ← ``streams`` ← ``puljemonitor``: a module may import its own
layer and the layers below it, never one above. Function-local imports count too (grimp
reads every import statement), so a lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import sys

import grimp
import pytest

LAYERS = ("schemas", "projections", "streams", "puljemonitor")


def upward_imports(graph: grimp.ImportGraph, layers: tuple[str, ...]) -> list[str]:
    def layer(module: str) -> int:
        return layers.index(module.split(".")[0])

    return sorted(
        f"{importer} imports {imported} (line {detail['line_number']})"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if layer(imported) > layer(importer)
        for detail in graph.get_import_details(importer=importer, imported=imported)
    )


def cycles(graph: grimp.ImportGraph) -> list[str]:
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                found.append(" -> ".join((module, *back)))
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*LAYERS, cache_dir=None)


def test_every_import_points_down_or_sideways(graph):
    assert upward_imports(graph, LAYERS) == []


def test_no_modules_import_each_other_in_a_circle(graph):
    assert cycles(graph) == []


def test_the_checks_catch_an_upward_import_and_a_circle(tmp_path, monkeypatch):
    """A two-layer tree with both faults: the checks above would fail on it."""
    for package, modules in {
        "lowlayer": {
            "a.py": "def f():\n    from highlayer import b\n",
            "c.py": "import lowlayer.d\n",
            "d.py": "import lowlayer.c\n",
        },
        "highlayer": {"b.py": "import lowlayer.a\n"},
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        for name, text in modules.items():
            (tmp_path / package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = grimp.build_graph("lowlayer", "highlayer", cache_dir=None)
    assert upward_imports(fake, ("lowlayer", "highlayer")) == ["lowlayer.a imports highlayer.b (line 2)"]
    assert "lowlayer.c -> lowlayer.d -> lowlayer.c" in cycles(fake)
    for package in ("lowlayer", "highlayer"):
        sys.modules.pop(package, None)
