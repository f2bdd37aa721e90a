"""Every Linux story of the corpus collected by SUSE supportconfig instead of by hand: the agent's conf, its
``waagent --version`` and its log as sections of the Azure plugin file, syslog as ``messages.txt``'s Log File
section, os-release in ``basic-environment.txt`` (conf files without their comments and blank lines, as
``pconf_files`` writes them); the other files beside them as collected by hand. The same findings, root cause and
verdict as the flat rendering of the same story (tests/intake/test_sections.py has the section forms).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from analyzer.api import analyze
from tests.scenarios.render import build
from tests.scenarios.stories import STORIES
from tests.scenarios.vm import Variant

LINUX = sorted(n for n, s in STORIES.items() if s.os == "linux")
BANNER = "#==[ {} ]" + "=" * 40 + "#"
IN_SECTIONS = {  # member -> (section file, section kind, the path it names)
    "waagent.conf": ("plugin-azure.txt", "Configuration File", "/etc/waagent.conf"),
    "waagent.log": ("plugin-azure.txt", "Log File", "/var/log/waagent.log"),
    "messages": ("messages.txt", "Log File", "/var/log/messages"),
    "syslog": ("messages.txt", "Log File", "/var/log/messages"),
    "os-release": ("basic-environment.txt", "Configuration File", "/etc/os-release"),
}


def _section(kind: str, path: str, data: bytes, crlf: bool) -> str:
    text = data.decode("utf-8").replace("\r\n", "\n")
    if kind == "Configuration File":  # pconf_files drops comments and blank lines
        text = "\n".join(ln for ln in text.split("\n") if ln.strip() and not re.match(r"\s*[#;]", ln))
    tail = " - Last 10000 Lines" if kind == "Log File" else ""
    out = f"{BANNER.format(kind)}\n# {path}{tail}\n{text.rstrip(chr(10))}\n\n"
    return out.replace("\n", "\r\n") if crlf else out


def _write(folder: Path, members: dict[str, Any], supportconfig: bool, crlf: bool) -> Path:
    folder.mkdir()
    files: dict[str, str] = {}
    for name, data in members.items():
        assert isinstance(data, bytes), name
        where = IN_SECTIONS.get(name) if supportconfig and not data.startswith(b"\xff\xfe") else None
        if where is None:
            (folder / name).write_bytes(data)
            continue
        txt, kind, path = where
        files[txt] = files.get(txt, "") + _section(kind, path, data, crlf)
    if supportconfig:
        files["plugin-azure.txt"] = files.get("plugin-azure.txt", "") + _section(
            "Command", "/usr/sbin/waagent --version", b"", crlf).replace("\n\n", "\n")  # a section with no output
    for txt, text in files.items():
        (folder / txt).write_bytes(text.encode())
    return folder


def _said(folder: Path) -> tuple[Any, ...]:
    report = analyze(folder)
    return (sorted((f.id, f.severity) for f in report.findings if f.severity != "info"), report.verdict.root_cause,
            report.verdict.status)


@pytest.mark.parametrize("name", LINUX)
def test_a_supportconfig_gives_what_the_files_give(tmp_path: Path, name: str) -> None:
    i = LINUX.index(name)
    story = STORIES[name]
    crlf = i % 3 == 1
    variant = Variant(os="linux", layout="flat", archive="folder", encoding="crlf" if crlf else "utf8",
                      gen=story.gens[i % len(story.gens)])
    _, members = build(story, variant)
    plain = _said(_write(tmp_path / "flat", members, False, crlf))
    assert _said(_write(tmp_path / "scc", members, True, crlf)) == plain
