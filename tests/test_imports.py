"""No import circles among the project's modules, and every module imports on its own.

- :func:`test_the_module_import_graph_has_no_cycle` builds the graph of the project's imports from the source
  (stdlib ``ast`` over ``models/``, ``inference/`` and ``experiments/``) and asserts it is acyclic. Imports
  inside functions count too: the two circles this test was written against (build -> schema -> tasks ->
  class_imbalance -> build, and cli <-> launch) each closed through a deferred import, which never fails at
  import time and so only a graph of every import statement finds. An edge goes to the deepest project
  module an import names (``from experiments import metrics`` -> ``experiments.metrics``); the implicit
  import of a module's parent packages is not an edge.
- :func:`test_every_module_imports_alone_in_a_fresh_interpreter` imports each module first thing in its own
  ``sys.executable`` (slow tier: one interpreter per module).
- :func:`test_the_orders_that_used_to_cycle_import` imports the modules of those two circles in both orders,
  each in a fresh interpreter.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "inference", "experiments")


def project_modules() -> dict[str, Path]:
    """Dotted name -> source file of every module of :data:`PACKAGES` (a package is its ``__init__``)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """``{module: {imported project module: line of the first import}}``, every import statement counted
    (top level and inside functions)."""

    def project(name: str) -> str | None:  # the deepest project module a dotted name lies in
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        edges = {}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                found = project(target)
                if found and found != name:
                    edges.setdefault(found, node.lineno)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_module_import_graph_has_no_cycle():
    graph = import_graph(project_modules())
    assert sum(map(len, graph.values())) > 50  # the walk sees the imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(
        f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_the_cycle_finder_finds_the_circles_it_guards_against():
    """The two former circles, written as a graph, are found (with the deferred edges that closed them)."""
    old = {"experiments.build": {"experiments.schema": 15}, "experiments.schema": {"experiments.tasks": 342},
           "experiments.tasks": {"experiments.tasks.class_imbalance": 13},
           "experiments.tasks.class_imbalance": {"experiments.build": 25}}
    assert find_cycle(old) == ["experiments.build", "experiments.schema", "experiments.tasks",
                               "experiments.tasks.class_imbalance", "experiments.build"]
    assert find_cycle({"experiments.cli": {"experiments.launch": 282},
                       "experiments.launch": {"experiments.cli": 119}}) is not None
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None


def _fresh(*modules: str) -> subprocess.CompletedProcess:
    """Import ``modules`` in this order, first thing in a new interpreter run from the repository root."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    return subprocess.run([sys.executable, "-c", code, *modules], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def _last_line(proc: subprocess.CompletedProcess) -> str:
    return (proc.stderr.strip().splitlines() or ["?"])[-1]


@pytest.mark.slow  # 60 interpreters, each importing JAX: ~1 min on two idle cores (the graph test is the fast guard)
def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = sorted(project_modules())
    with ThreadPoolExecutor(max_workers=4) as pool:  # the interpreters run in parallel
        results = dict(zip(modules, pool.map(_fresh, modules)))
    failed = {m: _last_line(p) for m, p in results.items() if p.returncode != 0}
    assert not failed, failed


@pytest.mark.parametrize("order", [
    ("experiments.build", "experiments.schema"),
    ("experiments.schema", "experiments.build"),
    ("experiments.tasks.class_imbalance", "experiments.build", "experiments.schema"),
    ("experiments.tasks", "experiments.schema"),
    ("experiments.cli", "experiments.launch"),
    ("experiments.launch", "experiments.cli"),
], ids="-then-".join)
def test_the_orders_that_used_to_cycle_import(order):
    proc = _fresh(*order)
    assert proc.returncode == 0, _last_line(proc)
