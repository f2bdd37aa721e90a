"""Member path normalization and the archive name check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.intake.paths import normalize_path, refusal
from analyzer.locale import word


@pytest.mark.parametrize(("raw", "expected"), [
    ("./var/log/waagent.log", "var/log/waagent.log"),
    ("/var/log/waagent.log", "var/log/waagent.log"),
    ("var//log/./waagent.log", "var/log/waagent.log"),
    ("C:\\WindowsAzure\\Logs\\WaAppAgent.log", "WindowsAzure/Logs/WaAppAgent.log"),
    ("c:/Packages/Plugins/x/SeqNumber.txt", "Packages/Plugins/x/SeqNumber.txt"),
    ("C/WindowsAzure/Logs/WaAppAgent.log", "WindowsAzure/Logs/WaAppAgent.log"),
    ("D/Program Files/x.log", "Program Files/x.log"),
    ("C/not-a-system-dir/x.log", "C/not-a-system-dir/x.log"),
    ("truncated__var_log_syslog.1", "var/log/syslog.1"),
    ("truncated__var_log_waagent.log", "var/log/waagent.log"),
    ("truncated__etc_waagent.conf", "etc/waagent.conf"),
    ("truncated__var_log_azure_Microsoft.Azure.RecoveryServices.VMSnapshotLinux_extension.log",
     "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log"),
    ("truncated__var_log_azure_custom-script_2.1.3_handler.log", "var/log/azure/custom-script/2.1.3/handler.log"),
    ("vm1/truncated__var_lib_waagent_waagent_status.json", "vm1/var/lib/waagent/waagent_status.json"),
    ("truncated__opt_x", "truncated__opt_x"),
    ("../etc/passwd", None),
    ("a/../../b", None),
    ("", None),
    ("./", None),
    ("a\x00b", None),
])
def test_normalize_path(raw: str, expected: str | None) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(("raw", "why"), [
    ("../../evil", "climbs out"),
    ("ok/../../x", "climbs out"),
    ("..\\..\\x", "climbs out"),
    ("/etc/passwd", "absolute"),
    ("C:/../x", "climbs out"),
    ("C:\\Windows\\..\\..\\x", "climbs out"),
    ("a\x00.log", "NUL"),
    ("x" * 5000, "longer than"),
    ("./", "empty"),
])
def test_refused_archive_names(raw: str, why: str) -> None:
    reason = refusal(raw, 4096)
    assert reason is not None and why in word(reason)


def test_ordinary_names_are_accepted() -> None:
    for name in ("var/log/waagent.log", "./var/log/waagent.log", "logs\\WaAppAgent.log", "a..b/c..d.log"):
        assert refusal(name, 4096) is None


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\\:C_\x00 ")) | st.characters(), max_size=40))
def test_accepted_names_stay_inside_the_bundle(raw: str) -> None:
    if refusal(raw, 4096) is not None:
        return
    p = normalize_path(raw)
    assert p is not None
    assert not p.startswith("/") and "\x00" not in p and "\\" not in p
    assert ".." not in p.split("/") and "" not in p.split("/")
