"""The package's import graph: no module imports, directly or through others, a module that imports it.

Every import counts (top level, inside functions, under ``TYPE_CHECKING``): a circle in the picture of
the code is a circle, whether or not it bites at run time. ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analyzer", "parsers")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in modules and t != name)
    return out


def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(g[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_circles() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(g) == [["a", "b", "c"]]


def test_parsers_know_nothing_of_the_analyzer() -> None:
    g = graph()
    assert not {(m, t) for m, ts in g.items() if m.startswith("parsers") for t in ts if t.startswith("analyzer")}


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    g = graph()
    assert "analyzer.api" in g["analyzer"]  # the lazy ``analyzer.analyze`` in a module ``__getattr__``
    assert "analyzer.intake.archives" in g["analyzer.intake.bundle"]


def test_the_readme_layout_names_every_module() -> None:
    """A reader finds where a thing lives from the README's layout: every module and package of ``analyzer/``
    (its detectors, intake and report modules too) and every shared module of ``parsers/`` is named there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):readme.index("### Adding a source")]
    wanted = [p.name for p in (ROOT / "analyzer").iterdir() if p.suffix == ".py" and p.stem != "__init__"]
    wanted += [f"{p.name}/" for p in (ROOT / "analyzer").iterdir() if (p / "__init__.py").exists()]
    for package in ("detectors", "intake", "report"):
        wanted += [p.name for p in (ROOT / "analyzer" / package).glob("*.py") if p.stem != "__init__"]
    wanted += [p.name for p in (ROOT / "parsers").glob("*.py") if p.stem != "__init__"]
    wanted += [f"{p.name}/" for p in (ROOT / "parsers").iterdir() if (p / "__init__.py").exists()]
    assert len(wanted) > 40
    missing = sorted(name for name in wanted if f"`{name}`" not in layout and f"/{name}`" not in layout)
    assert not missing, f"README.md's Layout does not name {missing}"
