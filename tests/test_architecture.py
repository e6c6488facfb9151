"""The layers stay visible: no import cycle, no upward import, no connector named outside the connectors."""

import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scanner", "detectors", "retention")


def cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

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
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(*PACKAGES)
    assert len(graph.modules) > 50  # the whole project was read
    assert cycles(graph) == []


def test_a_cycle_is_found_when_there_is_one(tmp_path, monkeypatch):
    for name, imports in (("a", "b"), ("b", "c"), ("c", "a")):
        (tmp_path / "loop" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "loop" / f"{name}.py").write_text(f"from loop import {imports}\n")
    (tmp_path / "loop" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles(grimp.build_graph("loop")) == [["loop.a", "loop.b", "loop.c"]]


def test_imports_go_down_the_layers():
    """The import-linter contract in pyproject.toml, as CI runs it."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "1 kept, 0 broken" in result.stdout, result.stdout + result.stderr


def test_no_connector_is_named_outside_the_connectors():
    """What a connector can do is asked of it (`deletes`, its methods), never decided by its name."""
    pattern = re.compile(r"connector\.name\s*(==|!=|in\b)|hasattr\(connector|\.name == \"(hf|chroma|qdrant|otlp|csv)\"")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                 if "connectors" not in path.parts
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
