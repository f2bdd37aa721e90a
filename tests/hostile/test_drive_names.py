"""Member names with a drive letter (issue 15, DESIGN §2 against security.md §10): Windows collectors write
``C:\\WindowsAzure\\Logs\\WaAppAgent.log`` into their zips. Members are never written to disk under their names,
so the drive letter is dropped and the rest read as a relative name, in zip, tar and 7z, whatever the letter,
case and separator; a ``..`` after the drive, and a ``/``-rooted name, are still refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.intake import open_bundle
from tests.intake.intake_fixtures import problems, seven_zip, tar_bytes, write, zip_bytes

TAIL = ["WindowsAzure", "Logs", "WaAppAgent.log"]
drive = st.sampled_from("CcDdZz")
separator = st.sampled_from(["\\", "/"])


def _read(tmp: Path, kind: str, entries: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, str]]:
    path = tmp / f"b.{kind}"
    if kind == "7z":
        seven_zip(path, entries)
    else:
        write(path, zip_bytes(entries) if kind == "zip" else tar_bytes(entries))
    bundle = open_bundle(path)
    got = {m.path: m.stream.read() for m in bundle.members()}
    return got, problems(bundle)


@settings(max_examples=40, deadline=None)
@given(letter=drive, sep=separator, kind=st.sampled_from(["zip", "tar", "7z"]))
def test_a_drive_letter_is_dropped_and_a_climb_after_it_refused(tmp_path_factory: pytest.TempPathFactory, letter: str,
                                                                sep: str, kind: str) -> None:
    rooted = f"{letter}:{sep}" + sep.join(TAIL)
    relative = f"{letter}:" + sep.join(["Packages", "Plugins", "x", "1.0", "Status", "3.status"])
    climb = f"{letter}:{sep}WindowsAzure{sep}..{sep}..{sep}etc{sep}shadow"
    entries = {rooted: b"[00000001] agent\n", relative: b"{}\n", climb: b"outside\n"}
    if kind != "7z":  # py7zr's writer cuts a rooted name itself
        entries["/etc/passwd"] = b"rooted\n"
    got, rows = _read(tmp_path_factory.mktemp(kind), kind, entries)
    assert got["/".join(TAIL)] == b"[00000001] agent\n"
    assert got["Packages/Plugins/x/1.0/Status/3.status"] == b"{}\n"
    assert set(got) == {"/".join(TAIL), "Packages/Plugins/x/1.0/Status/3.status"}
    assert not any(b"outside" in v or b"rooted" in v for v in got.values())
    assert any("climbs out" in why for why in rows.values())
    if kind != "7z":
        assert any("absolute" in why for why in rows.values())
