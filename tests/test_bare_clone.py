"""On a bare clone (no ``../shared``, no Chromium) the tests that need them skip with the reason; with
``CI`` set they fail. Run on a copy of ``tests/conftest.py`` in a project folder without ``../shared``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

NEEDS_SHARED = '''
    import json
    from pathlib import Path

    import pytest

    from tests.conftest import REFDATA, reference_files, require_chromium

    def test_reads_a_reference_file():
        (REFDATA / "linux" / "waagent.log").read_bytes()

    def test_asks_for_the_fixture(refdata: Path):
        assert refdata.is_dir()

    @pytest.mark.parametrize("sample", reference_files())
    def test_over_reference_files(sample: Path):
        sample.read_bytes()

    def test_needs_chromium(monkeypatch):
        monkeypatch.setattr("tests.conftest.CHROMIUM", Path("/nonexistent/chromium"))
        require_chromium()

    def test_unrelated_failure_still_fails_on_a_bare_clone():
        Path("/nonexistent/elsewhere").read_bytes()

    def test_skips_for_another_reason():
        pytest.skip("a tool this machine lacks")

    @pytest.mark.xfail(reason="a known limit", strict=True)
    def test_expected_failure():
        assert False
'''
IMPORTS_SHARED = '''
    from tests.conftest import REFDATA

    EXPECTED = (REFDATA / "windows" / "expected-counts.json").read_text()

    def test_never_runs():
        pass
'''


def _run(project: Path, ci: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(project)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args, "tests"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "project"
    (proj / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "conftest.py", proj / "tests" / "conftest.py")
    (proj / "tests" / "__init__.py").write_text("")
    (proj / "tests" / "test_needs.py").write_text(textwrap.dedent(NEEDS_SHARED))
    (proj / "tests" / "test_imports.py").write_text(textwrap.dedent(IMPORTS_SHARED))
    return proj


def test_bare_clone_skips_with_the_reason(project: Path) -> None:
    out = _run(project, None)
    assert out.returncode == 1, out.stdout  # only the unrelated failure
    assert "1 failed" in out.stdout and "6 skipped" in out.stdout and "1 xfailed" in out.stdout, out.stdout
    reasons = [line for line in out.stdout.splitlines() if line.startswith("SKIPPED")]
    assert sum(int(line.split("[")[1].split("]")[0]) for line in reasons
               if "needs the reference files beside the project" in line) == 4, out.stdout
    assert any("needs Debian's Chromium" in line for line in reasons)


def test_in_ci_nothing_skips(project: Path) -> None:
    out = _run(project, "1", "--continue-on-collection-errors")
    assert "skipped" not in out.stdout and "5 failed, 1 xfailed, 2 errors" in out.stdout, out.stdout  # fixture: error
    assert "in CI nothing may skip, and this test did: Skipped: a tool this machine lacks" in out.stdout
    assert "CI is set, and CI must have it" in out.stdout
    assert "FileNotFoundError" in out.stdout  # the module that reads the files when imported is an error
