"""The import graph of the application has no cycle, between any two modules.

``lint-imports`` (run by the test command) checks the layers and that no two
sibling modules import each other; this looks at the whole graph, module by
module, for a cycle of any length across packages (a -> b -> c -> a), which
sibling checks alone can miss. It uses grimp, the graph library
import-linter is built on; imports inside functions count too.
"""

from __future__ import annotations

import grimp

PACKAGES = ("mtc", "catalog", "imports")


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that can all reach each other (size > 1: a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            groups.append(group)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return [group for group in groups if len(group) > 1]


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph(*PACKAGES)
    cycles = strongly_connected(graph)
    assert cycles == [], [sorted(cycle) for cycle in cycles]


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("p.a", "p.b", "p.c", "p.d"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert strongly_connected(graph) == [{"p.a", "p.b", "p.c"}]
