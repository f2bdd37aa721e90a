"""7z headers are counted before py7zr builds them (issue 15 #6): an archive of a few hundred bytes whose encoded
header declares millions of entries or thousands of folders, or decodes to many megabytes, is refused at once
with flat memory, encoded or not, alone or nested, whatever the count beyond the limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_corpus import (
    GOOD_LOG,
    GOOD_PATH,
    Sandbox,
    assert_good_log_analyzed,
    json_report,
    run_cli,
    sevenzip_declaring,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.intake import IntakeError, Limits, open_bundle
from tests.intake.intake_fixtures import tar_bytes


def _open(path: Path, limits: Limits | None = None) -> list[str]:
    return [m.path for m in open_bundle(path, limits).members()]


@settings(max_examples=25, deadline=None)
@given(entries=st.integers(min_value=100_001, max_value=1 << 23), encoded=st.booleans())
def test_declared_entries_beyond_the_member_limit_are_refused(tmp_path_factory: pytest.TempPathFactory,
                                                              entries: int, encoded: bool) -> None:
    path = tmp_path_factory.mktemp("7z") / "many.7z"
    path.write_bytes(sevenzip_declaring(entries, encoded))
    with pytest.raises(IntakeError, match=r"declares \d+ entries|decodes to|exceeds max_meta_bytes"):
        _open(path)


@pytest.mark.parametrize("limit", [50, 500])
def test_the_entry_limit_counts_members_already_read(tmp_path: Path, limit: int) -> None:
    path = tmp_path / "b.7z"
    path.write_bytes(sevenzip_declaring(limit + 1))
    with pytest.raises(IntakeError, match="max_members"):
        _open(path, Limits(max_members=limit))
    path.write_bytes(sevenzip_declaring(limit - 1))
    assert _open(path, Limits(max_members=limit)) == ["b"]  # (unnamed entries take the archive's name)


def test_too_many_folders_and_an_oversized_decoded_header_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.7z"
    path.write_bytes(sevenzip_declaring(1, folders=20_000))
    with pytest.raises(IntakeError, match="folders"):
        _open(path)
    path.write_bytes(sevenzip_declaring(90_000))  # a 90 KB header: over the cap of a 16 KB max_meta_bytes
    with pytest.raises(IntakeError, match="decodes to"):
        _open(path, Limits(max_meta_bytes=16 * 1024))


def test_a_nested_7z_bomb_costs_one_row(sandbox: Sandbox) -> None:
    bundle = sandbox.write("t.tgz", tar_bytes({GOOD_PATH: GOOD_LOG, "var/log/inner.7z": sevenzip_declaring(1 << 23),
                                                      "var/log/other.7z": sevenzip_declaring(200_000)}))
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox, memory_limit=True))
    assert_good_log_analyzed(report)
    rows = {r["path"]: r for r in report["sources"]}
    assert rows["var/log/inner.7z"]["status"] == "failed" and "decodes to" in rows["var/log/inner.7z"]["error"]
    assert rows["var/log/other.7z"]["status"] == "failed" and "200000 entries" in rows["var/log/other.7z"]["error"]
