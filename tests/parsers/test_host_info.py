"""host_info on os-release / *-release / hostname files, sos IMDS JSON and Windows systeminfo."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from parsers.state.host_info import sniff
from tests.parsers.linux_helpers import one, run_as
from tests.parsers.windows_helpers import utf16

OS_RELEASE = (b'NAME="Ubuntu"\nVERSION="18.04.6 LTS (Bionic Beaver)"\nID=ubuntu\nID_LIKE=debian\n'
              b'PRETTY_NAME="Ubuntu 18.04.6 LTS"\nVERSION_ID="18.04"\n')
SYSTEMINFO = ("\r\nHost Name:                 WIN-SQL01\r\n"
              "OS Name:                   Microsoft Windows Server 2019 Datacenter\r\n"
              "OS Version:                10.0.17763 N/A Build 17763\r\n"
              "Time Zone:                 (UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\r\n")


@pytest.mark.parametrize(("path", "data", "distro"), [
    ("etc/os-release", OS_RELEASE, "ubuntu 18.04"),
    ("etc/lsb-release", b"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=20.04\nDISTRIB_CODENAME=focal\n", "ubuntu 20.04"),
    ("etc/redhat-release", b"Red Hat Enterprise Linux Server release 7.9 (Maipo)\n",
     "Red Hat Enterprise Linux Server release 7.9 (Maipo)"),
])
def test_distro(path: str, data: bytes, distro: str) -> None:
    events, ctx = run_as(data, path)
    assert events == [] and not ctx.problems
    assert one(ctx, "host.distro") == distro


def test_hostname() -> None:
    _, ctx = run_as(b"myvm01\n", "etc/hostname")
    assert one(ctx, "host.name") == "myvm01"


def test_sos_instance_metadata() -> None:
    doc = {"compute": {"name": "vm01", "vmId": "86f4ae0a-61f8-48ae-9199-40f402d56864", "location": "westeurope",
                       "vmSize": "Standard_B2s", "osType": "Linux", "resourceGroupName": "rg1",
                       "subscriptionId": "8e037ad4-618f-4466-8bc8-5099d41ac15b",
                       "osProfile": {"computerName": "vm01-host", "adminUsername": "azureuser"}}}
    _, ctx = run_as(json.dumps(doc).encode(), "sosreport-vm01/sos_commands/azure/instance_metadata.json")
    assert not ctx.problems
    assert one(ctx, "azure.vm") == {"name": "vm01", "vm_id": "86f4ae0a-61f8-48ae-9199-40f402d56864",
                                    "location": "westeurope", "vm_size": "Standard_B2s", "os_type": "Linux",
                                    "subscription_id": "8e037ad4-618f-4466-8bc8-5099d41ac15b",
                                    "resource_group": "rg1"}
    assert one(ctx, "host.name") == "vm01-host"


def test_windows_systeminfo_utf16() -> None:
    _, ctx = run_as(utf16(SYSTEMINFO), "diag/systeminfo.txt")
    assert not ctx.problems
    assert one(ctx, "host.name") == "WIN-SQL01"
    assert one(ctx, "host.distro") == "Microsoft Windows Server 2019 Datacenter"
    # the display name's offset is the standard one: its IANA zone converts each record by its own date
    assert one(ctx, "host.timezone") == "Europe/Berlin"
    assert [f.line for f in ctx.facts if f.name == "host.timezone"] == [5]
    assert not [f for f in ctx.facts if f.name == "tz.utc_offset_minutes"]


@pytest.mark.parametrize(("display", "zone"), [("(UTC-03:30) Newfoundland", "America/St_Johns"),
                                               ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
                                               ("(UTC) Coordinated Universal Time", "Etc/UTC"),
                                               ("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata")])
def test_systeminfo_display_names_are_iana_zones(display: str, zone: str) -> None:
    _, ctx = run_as(f"Host Name: H\nTime Zone: {display}\n".encode(), "systeminfo.txt")
    assert one(ctx, "host.timezone") == zone


def test_systeminfo_unknown_display_gives_its_standard_offset() -> None:
    _, ctx = run_as(b"Host Name: H\nTime Zone: (UTC-03:30) Somewhere Islands\n", "systeminfo.txt")
    assert one(ctx, "tz.utc_offset_minutes") == -210


# systeminfo of a Windows in another language: (host label, OS label, zone label, zone display)
LOCALIZED = {
    "ja": ("ホスト名", "OS 名", "タイム ゾーン", "(UTC+09:00) 大阪、札幌、東京", 540),
    "de": ("Hostname", "Betriebssystemname", "Zeitzone", "(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien",
           60),
    "cs": ("Název hostitele", "Název operačního systému", "Časové pásmo",
           "(UTC+01:00) Bělehrad, Bratislava, Budapešť, Lublaň, Praha", 60),
    "es": ("Nombre de host", "Nombre del sistema operativo", "Zona horaria",
           "(UTC-06:00) Guadalajara, Ciudad de México, Monterrey", -360),
    "pt": ("Nome do host", "Nome do sistema operacional", "Fuso horário", "(UTC-03:00) Brasília", -180),
}


@pytest.mark.parametrize("lang", sorted(LOCALIZED))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_localized_systeminfo_gives_host_os_and_offset(lang: str, encoding: str) -> None:
    host, os_name, zone, display, minutes = LOCALIZED[lang]
    text = (f"\r\n{host}:{' ' * 10}VM-{lang.upper()}01\r\n"
            f"{os_name}:{' ' * 6}Microsoft Windows Server 2019 Datacenter\r\n"
            f"OS-Version:{' ' * 10}10.0.17763 N/A Build 17763\r\n{zone}:{' ' * 8}{display}\r\n")
    _, ctx = run_as(utf16(text) if encoding == "utf-16" else text.encode(), "diag/systeminfo.txt")
    assert not ctx.problems
    assert one(ctx, "host.name") == f"VM-{lang.upper()}01"
    assert one(ctx, "host.distro") == "Microsoft Windows Server 2019 Datacenter"
    named = one(ctx, "host.timezone")  # an IANA zone when the display's cities are known, else the offset alone
    if "/" in str(named):
        assert ZoneInfo(str(named)).utcoffset(datetime(2024, 1, 15)) == timedelta(minutes=minutes)
    else:
        assert one(ctx, "tz.utc_offset_minutes") == minutes


@pytest.mark.parametrize(("path", "data"), [("etc/hostname", b"\x00\xff\xfe"), ("etc/os-release", b"\xff\xfe\x00"),
                                            ("systeminfo.txt", b"\x00\xff garbage"),
                                            ("sos_commands/azure/instance_metadata.json", b"{\"compute\": ")])
def test_bad_input_is_a_problem(path: str, data: bytes) -> None:
    _, ctx = run_as(data, path)
    assert ctx.problems and ctx.facts == []


def test_sniff() -> None:
    assert sniff("x", OS_RELEASE)
    assert sniff("x", utf16(SYSTEMINFO))
    assert not sniff("x", b"myvm01\n")
