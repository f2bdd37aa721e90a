"""``--obfuscate`` masks identifying data in every encoding and position (issue 15 #9): an address, GUID or MAC after
an encoded separator (``%2F<guid>``), a resolver address after "nameserver" or "DNS server" (only a version keeps
its numbers), and a Windows event's ``Computer`` name in every row of the timeline export, rows before the first
event that names it included."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.export import export_timeline
from analyzer.model import Options
from analyzer.redact import Redactor

octet = st.integers(min_value=1, max_value=254)
ipv4 = st.tuples(st.sampled_from([10, 20, 52, 172, 192]), octet, octet, octet).map(lambda t: ".".join(map(str, t)))
guid = st.uuids().map(str)
mac = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))
CONTEXTS = ["{v}", "/subscriptions%2F{v}%2Fx", "id%3D{v}&x=1", "path\\u002F{v}\\u002Fx", "\\/{v}\\/", "nameserver {v}",
            "DNS server {v}", "DNS servers: {v}", "server={v}", "observer {v}", "Gateway:{v} Routes:{v}",
            '"{v}"', "<Address>{v}</Address>", "url=https%3A%2F%2F{v}%2Fmetadata"]
VERSIONS = ["Azure Linux Agent Version: 2.9.1.1", "WALinuxAgent-2.9.1.1", "agent 2.2.53.1", "version=1.0.9150.0",
            "ver 2.7.0.6", "v2.9.1.1"]


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(ipv4, guid, mac), context=st.sampled_from(CONTEXTS))
def test_identifying_values_are_masked_in_every_context(value: str, context: str) -> None:
    out = Redactor(obfuscate=True).text(context.format(v=value))
    assert value.lower() not in out.lower(), out


def test_versions_keep_their_numbers() -> None:
    for text in VERSIONS:
        assert Redactor(obfuscate=True).text(text) == text


EVENT = ("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control "
         "Manager'/><EventID Qualifiers='16384'>7036</EventID><Level>4</Level><TimeCreated SystemTime='2024-05-01T12:"
         "00:{s:02d}.0000000Z'/><EventRecordID>{s}</EventRecordID><Channel>System</Channel><Computer>WINCANARY7Q"
         "</Computer></System><EventData><Data Name='param1'>Volume Shadow Copy</Data><Data Name='param2'>running"
         "</Data></EventData></Event>")


def test_a_windows_computer_name_is_masked_in_every_row_of_the_export(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/waagent.log").write_text(  # rows earlier than the events, naming the computer in passing
        "2024-05-01T09:00:00.000000Z INFO ExtHandler ExtHandler connected to wincanary7q.contoso.local\n"
        "2024-05-01T09:00:01.000000Z INFO ExtHandler ExtHandler WINCANARY7Q_evt_System.evtx collected\n")
    (root / "export").mkdir()
    (root / "export/System.xml").write_text("\n".join(EVENT.format(s=s) for s in range(40)), encoding="utf-16")
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"t.{fmt}"
        export_timeline(root, out, fmt, Options(obfuscate=True))
        text = out.read_text(encoding="utf-8")
        assert text.count("\n") > 40
        assert "wincanary7q" not in text.lower(), fmt
        assert "<host-1>" in text
    rows = [json.loads(r) for r in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert {r["attrs"].get("computer") for r in rows if r["source"] == "event_xml"} == {"<host-1>"}
