"""A small bundle's analysis imports none of the heavy libraries (issue 16, cold start).

The CLI runs in a fresh interpreter, as a user starts it; the modules loaded by the end of the run are compared
with the libraries a small Linux or Windows bundle has no use for: numpy (the block scan of logs of 1 MiB or
more), hyperscan (its engine without the C module), the exports' pandas and pyarrow, py7zr (7z archives), the
HTML report's jinja2, the terminal's rich, the batch's dask, pydantic (typer 0.2x built its adapters for every
option: the CLI is on click), and the test tools. A behaviour test, not a timed one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
HEAVY = ("numpy", "hyperscan", "pandas", "pyarrow", "py7zr", "jinja2", "rich", "dask", "distributed", "playwright",
         "jsonschema", "pydantic", "typer", "hypothesis", "pytest")
_RUN = """
import json, sys
from analyzer.cli import run
sys.argv = ["bundle-analyze", *sys.argv[1:]]
try:
    run()
except SystemExit:
    pass
sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _loaded(bundle: Path, out: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _RUN, str(bundle), "--format", "json", "-o", str(out)],
                          check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    line = next(s for s in proc.stderr.splitlines() if s.startswith("MODULES "))
    assert json.loads(out.read_text())["verdict"]["status"]  # the analysis ran to its report
    return {m.split(".")[0] for m in json.loads(line.removeprefix("MODULES "))}


def _tar_gz(folder: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f.name not in ("README.md", "expected.json"):
                tar.add(f, arcname=str(f.relative_to(folder)))
    return dest


@pytest.mark.parametrize("sample", ["linux-agent-outdated", "linux-dhcp-failure", "windows-healthy",
                                    "windows-vss-writer-failed"])
def test_small_bundle_imports_no_heavy_library(sample: str, tmp_path: Path) -> None:
    folder = SAMPLES / sample
    for bundle in (folder, _tar_gz(folder, tmp_path / f"{sample}.tar.gz")):
        loaded = _loaded(bundle, tmp_path / "report.json")
        assert not loaded & set(HEAVY), f"{bundle.name}: {sorted(loaded & set(HEAVY))}"


def test_the_check_sees_a_heavy_import(tmp_path: Path) -> None:
    """The same run on a member of 1 MiB or more takes the block scan, and numpy shows up."""
    log = (SAMPLES / "linux-agent-outdated" / "var" / "log" / "waagent.log").read_bytes()
    dest = tmp_path / "big" / "var" / "log"
    dest.mkdir(parents=True)
    (dest / "waagent.log").write_bytes(log * (1024 * 1024 // len(log) + 1))
    assert "numpy" in _loaded(tmp_path / "big", tmp_path / "report.json")
