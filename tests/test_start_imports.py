"""A small bundle's analysis imports none of the heavy libraries (issue 16, cold start).

The CLI runs in a fresh interpreter, as a user starts it; the modules loaded by the end of the run are compared
with the libraries a small Linux or Windows bundle has no use for: numpy (the block scan of logs of 3 MiB or more
in a fresh process), hyperscan (its engine without the C module), the exports' pandas and pyarrow, py7zr (7z
archives), the HTML report's jinja2, the terminal's rich, the batch's dask, pydantic (typer 0.2x built its adapters
for every option: the CLI is on click), and the test tools; pyparsing only where a lease, registry export or agent
payload is read (sniffing a member does without it). A behaviour test, not a timed one.
"""

from __future__ import annotations

import json
import shutil
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


def _big_log(tmp_path: Path, size: int) -> Path:
    """A bundle folder whose waagent.log is ``size`` bytes or a little more (the sample's log repeated)."""
    log = (SAMPLES / "linux-agent-outdated" / "var" / "log" / "waagent.log").read_bytes()
    folder = tmp_path / f"big{size}"
    dest = folder / "var" / "log"
    dest.mkdir(parents=True)
    (dest / "waagent.log").write_bytes(log * (size // len(log) + 1))
    return folder


def test_numpy_is_imported_only_for_a_member_its_import_pays_for(tmp_path: Path) -> None:
    """In a fresh process a log below ``BLOCK_MIN * COLD_FACTOR`` (3 MiB) is read line by line: numpy's import
    would cost more than the block scan saves; a larger one takes the block scan, and the check sees numpy."""
    from parsers.linux_agent.waagent_log import BLOCK_MIN, COLD_FACTOR

    cold = BLOCK_MIN * COLD_FACTOR
    assert "numpy" not in _loaded(_big_log(tmp_path, cold - BLOCK_MIN), tmp_path / "report.json")
    assert "numpy" in _loaded(_big_log(tmp_path, cold), tmp_path / "report.json")


def test_sniffing_an_unnamed_member_imports_no_grammar_library(tmp_path: Path) -> None:
    """A member no path pattern claims (a README, notes) is sniffed by every parser, which imports their modules;
    the DHCP lease and registry grammars (pyparsing) are built only when such a file is read."""
    folder = tmp_path / "bundle"
    shutil.copytree(SAMPLES / "linux-agent-outdated", folder)
    log = folder / "var" / "log" / "waagent.log"  # without the agent's own payloads (read with pyparsing too)
    log.write_text("".join(line for line in log.read_text(encoding="utf-8").splitlines(keepends=True)
                           if "Event: name=" not in line), encoding="utf-8")
    (folder / "notes.txt").write_text("the customer says backups stopped on Monday\n", encoding="utf-8")
    assert "pyparsing" not in _loaded(folder, tmp_path / "report.json")
    lease = Path("var", "lib", "dhcp", "dhclient.eth0.leases")
    (folder / lease).parent.mkdir(parents=True)
    shutil.copy(SAMPLES / "linux-dhcp-failure" / lease, folder / lease)
    assert "pyparsing" in _loaded(folder, tmp_path / "report.json")
