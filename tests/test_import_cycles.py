"""No import cycle among lamapaint's modules.

The graph is grimp's (the library under import-linter): every ``import`` statement that runs at
runtime, at module level or inside a function, and none under ``if TYPE_CHECKING:`` (those never
run). Function-level imports count: they are how torch and Qt stay lazy, and a cycle through
one is still two modules that each need the other, the layering this test keeps out (the CLI
package and its subcommands had one). A module importing its own parent package implicitly does
not count, only an ``import`` of it written in the code.
"""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")


def import_cycles(package: str = "lamapaint") -> list[tuple[str, ...]]:
    """One shortest cycle through each import edge that closes one (deduplicated by its modules)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    found: dict[frozenset[str], tuple[str, ...]] = {}
    for importer, targets in edges.items():
        for imported in targets:
            if imported == importer:
                continue
            back = _shortest_path(edges, imported, importer)
            if back is not None:
                found.setdefault(frozenset(back), (importer, *back))
    return sorted(found.values())


def _shortest_path(edges: dict[str, list[str]], start: str, goal: str) -> tuple[str, ...] | None:
    """Breadth-first (grimp's own chain search refuses a package and its descendants)."""
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for module in frontier:
            if module == goal:
                path = [module]
                while (step := previous[path[-1]]) is not None:
                    path.append(step)
                return tuple(reversed(path))
            for nxt in edges.get(module, ()):
                if nxt not in previous:
                    previous[nxt] = module
                    following.append(nxt)
        frontier = following
    return None


def test_no_import_cycles() -> None:
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cli_package_still_exports_its_exit_codes() -> None:
    import lamapaint.cli as cli
    from lamapaint.cli import errors

    assert cli.CliError is errors.CliError and cli.EXIT_MODEL == errors.EXIT_MODEL == 4
    assert callable(cli.console_main)
