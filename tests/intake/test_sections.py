"""supportconfig section files split into the files they embed (analyzer/intake/sections.py).

The sections are written as supportutils' ``pconf_files``, ``plog_files`` and ``plugin_command`` write them
(a banner, a ``# <path or command>`` line, the content, a blank line); each becomes a member named after the file it
holds, read by the parser its path or content chooses, while the rest of the bundle is read as before.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.intake import sections as sections_module
from analyzer.intake.members import Member
from analyzer.intake.sections import sections
from tests.parsers.linux_render import GENERATIONS, record

CONF = "#==[ Configuration File ]===========================#"
LOG = "#==[ Log File ]=====================================#"
CMD = "#==[ Command ]======================================#"
HEADER = "#==[ Section Header ]===============================#"


def conf(path: str, body: str | None) -> str:
    if body is None:
        return f"{CONF}\n# {path} - File not found\n\n"
    return f"{CONF}\n# {path}\n{body}\n\n"


def log(path: str, body: str, last: int | None = None) -> str:
    tail = f" - Last {last} Lines" if last else ""
    return f"{LOG}\n# {path}{tail}\n{body}\n\n"


def command(cmd: str, output: str) -> str:
    return f"{CMD}\n# {cmd}\n{output}\n\n"


def _split(text: str, path: str = "scc_vm1_250301_0252/plugin-azure.txt") -> list[tuple[str, bytes]]:
    data = text.encode()
    stream = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    return [(m.path, m.stream.read()) for m in sections(Member(path, len(data), stream), data[:4096])]


def test_each_section_is_the_file_it_holds() -> None:
    text = (f"\n{HEADER}\n# Azure plugin\n\n" + conf("/etc/waagent.conf", "AutoUpdate.Enabled=n\nLogs.Verbose=n")
            + conf("/etc/sysconfig/proxy", None)
            + command("/usr/sbin/waagent --version", "WALinuxAgent-2.2.45 running on sles 12.5\nPython: 3.6.15")
            + log("/var/log/waagent.log", "2025-02-28T21:14:02.000000Z INFO ExtHandler ExtHandler x", 500))
    got = _split(text)
    assert [p for p, _ in got] == [
        "scc_vm1_250301_0252/plugin-azure.txt/section header 1: Azure plugin",
        "scc_vm1_250301_0252/plugin-azure.txt/etc/waagent.conf",
        "scc_vm1_250301_0252/plugin-azure.txt/command 3: waagent --version",
        "scc_vm1_250301_0252/plugin-azure.txt/var/log/waagent.log"]
    assert got[1][1] == b"AutoUpdate.Enabled=n\nLogs.Verbose=n\n\n"
    assert got[2][1] == b"WALinuxAgent-2.2.45 running on sles 12.5\nPython: 3.6.15\n\n"
    assert got[3][1].startswith(b"2025-02-28T21:14:02")


def test_a_section_a_parser_leaves_unread_is_skipped_and_crlf_banners_split() -> None:
    text = (conf("/etc/os-release", 'NAME="SLES"\nVERSION="12-SP5"') + log("/var/log/messages", "a\nb\nc")
            + conf("/etc/waagent.conf", "AutoUpdate.Enabled=n")).replace("\n", "\r\n")
    data = text.encode()
    parts = sections(Member("x.txt", None, io.BufferedReader(io.BytesIO(data))), data)  # type: ignore[arg-type]
    first = next(parts)
    assert first.path == "x.txt/etc/os-release" and first.stream.read(4) == b"NAME"  # the rest left unread
    rest = [(m.path, m.stream.read()) for m in parts]
    assert rest == [("x.txt/var/log/messages", b"a\r\nb\r\nc\r\n\r\n"),
                    ("x.txt/etc/waagent.conf", b"AutoUpdate.Enabled=n\r\n\r\n")]


@pytest.mark.parametrize("text", [
    "Sat Mar  1 02:52:11 UTC 2025\n" + conf("/etc/waagent.conf", "AutoUpdate.Enabled=n"),  # text before any banner
    "2025-02-28T21:14:02.000000Z INFO ExtHandler ExtHandler #==[ Log File ]==#\n",  # a banner inside a line
    "",
])
def test_a_file_that_does_not_open_with_a_banner_is_handed_on_as_it_is(text: str) -> None:
    assert _split(text) == [("scc_vm1_250301_0252/plugin-azure.txt", text.encode())]


def test_a_banner_is_a_whole_line_and_a_long_line_is_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sections_module, "_LINE", 64)  # lines read in pieces: a piece in mid-line is no banner
    body = "x" * 64 + "#==[ Log File ]==#\n" + "y" * 10 + "\n" + "#==[ Log File ]==#" + "z" * 64
    got = _split(log("/var/log/messages", body) + conf("/etc/waagent.conf", "A=1"))
    assert got == [("scc_vm1_250301_0252/plugin-azure.txt/var/log/messages", (body + "\n\n").encode()),
                   ("scc_vm1_250301_0252/plugin-azure.txt/etc/waagent.conf", b"A=1\n\n")]


def test_sections_past_the_cap_stay_in_the_last_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sections_module, "MAX_SECTIONS", 2)
    got = _split("".join(command(f"/bin/cmd{i}", f"out{i}") for i in range(5)))
    assert [p.rsplit("/", 1)[-1] for p, _ in got] == ["command 1: cmd0", "command 2: cmd1"]
    assert got[1][1].startswith(b"out1\n\n" + CMD.encode()) and got[1][1].count(b"# /bin/cmd") == 3


# --- whole bundles --------------------------------------------------------------------------------------------

def _supportconfig(gen: str, auto_update: str, crlf: bool) -> bytes:
    """A supportconfig tarball as SUSE support receives it (``scc_<host>_<yymmdd>_<hhmm>.txz``): the agent's conf and
    ``waagent --version`` in the Azure plugin file, its log in a Log File section, syslog in messages.txt."""
    records = [record("Azure Linux Agent Version:2.2.45", "INFO", gen, component="Daemon"),
               record("Agent WALinuxAgent-2.2.45 is running as the goal state agent", "INFO", gen),
               record("[HEARTBEAT] Agent WALinuxAgent-2.2.45 is running as the goal state agent", "INFO", gen)]
    files = {
        "basic-environment.txt": command("/bin/date", "Sat Mar  1 02:52:11 UTC 2025")
        + conf("/etc/os-release", 'NAME="SLES"\nVERSION="12-SP5"\nID="sles"'),
        "plugin-azure.txt": conf("/etc/waagent.conf", f"Provisioning.Agent=auto\nAutoUpdate.Enabled={auto_update}")
        + command("/usr/sbin/waagent --version", "WALinuxAgent-2.2.45 running on sles 12.5\nPython: 3.6.15\n"
                  "Goal state agent: 2.2.45")
        + log("/var/log/waagent.log", "\n".join(records), 1000),
        "supportconfig.txt": "Support Utilities - Supportconfig\nScript Version: 3.1.11-46.3\n",
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        for name, text in files.items():
            data = (text.replace("\n", "\r\n") if crlf else text).encode()
            info = tarfile.TarInfo(f"scc_vm1_250301_0252/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize("auto_update", ["n", "y"])
def test_the_files_a_supportconfig_embeds_are_read(tmp_path: Path, gen: str, auto_update: str, crlf: bool) -> None:
    bundle = tmp_path / "scc_vm1_250301_0252.txz"
    bundle.write_bytes(_supportconfig(gen, auto_update, crlf))
    report = analyze(bundle)
    rows = {s.path.split("/", 1)[1]: (s.parser, s.status) for s in report.sources}
    assert rows["plugin-azure.txt/etc/waagent.conf"] == ("waagent_conf", "parsed")
    assert rows["plugin-azure.txt/var/log/waagent.log"] == ("waagent_log", "parsed")
    assert rows["plugin-azure.txt/command 2: waagent --version"][0] == "waagent_log"
    assert rows["basic-environment.txt/etc/os-release"][0] == "host_info"
    assert report.extras["facts"]["agent.goal_state_version"] == "2.2.45"
    found = {f.id for f in report.findings if f.severity != "info"}
    assert ("AGENT_AUTO_UPDATE_DISABLED" in found) is (auto_update == "n")
    assert "AGENT_OUTDATED" in found
