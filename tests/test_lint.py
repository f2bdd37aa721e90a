"""The tree is ruff clean (the configuration is in pyproject.toml)."""

import ast
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    result = subprocess.run([ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr


def _rebound(source: str) -> list[str]:
    """Names a module binds twice at its top level (def, class or assignment)."""
    names: Counter[str] = Counter()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] += 1
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            names[node.target.id] += 1
    return sorted(n for n, count in names.items() if count > 1)


def test_no_module_binds_a_name_twice() -> None:
    """A second top-level binding silently replaces the first (ruff sees it only for an unused def): two
    generations of an expression side by side, the older one winning, is dead code that reads as live."""
    found = [f"{path.relative_to(ROOT)}: {names}" for package in ("analyzer", "parsers", "bench", "fuzz")
             for path in sorted((ROOT / package).rglob("*.py"))
             if (names := _rebound(path.read_text(encoding="utf-8")))]
    assert not found, "\n".join(found)
    assert _rebound("import re\nA = re.compile('x')\ndef f(): pass\nA = re.compile('y')\ndef f(): pass\n") == ["A", "f"]
