"""Registry exports: .reg in UTF-16LE with BOM, REGEDIT4, reg query output."""

from __future__ import annotations

from tests.parsers.windows_helpers import facts, run, utf16

REG = r"""Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\BcdrAgent]
"USEVSSCOPYBACKUP"="TRUE"
"IsProviderInstalled"="False"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\BcdrAgentPersistentKeys]
"SnapshotMethod"="firstHostThenGuest"
"SnapshotWithoutThreads"="True"

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\IaaSVmProvider]
"Start"=dword:00000004
"ImagePath"=hex(2):43,00,3a,00,5c,00,50,00,61,00,63,00,6b,00,61,00,67,00,65,00,\
  73,00,00,00
"Description"="first line
second line"

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\VSS]
"Start"=dword:00000003
"DependOnService"=hex(7):52,00,50,00,43,00,53,00,53,00,00,00,00,00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{3a9e6b2c-1111-2222-3333-444455556666}]
"EnableDHCP"=dword:00000000

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\TimeZoneInformation]
"Bias"=dword:ffffffc4
"ActiveTimeBias"=dword:ffffff88
"TimeZoneKeyName"="W. Europe Standard Time"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Microsoft SQL Server\MSSQL15.MSSQLSERVER]
"Removed"=-
"""


def test_reg_utf16_with_bom_gives_every_fact() -> None:
    events, ctx = run("registry_export", utf16(REG), "registry/BcdrAgent.reg")
    assert events == [] and not ctx.problems
    assert facts(ctx, "registry.bcdr") == [
        {"key": "BcdrAgent", "name": "USEVSSCOPYBACKUP", "value": "TRUE"},
        {"key": "BcdrAgent", "name": "IsProviderInstalled", "value": "False"},
        {"key": "BcdrAgentPersistentKeys", "name": "SnapshotMethod", "value": "firstHostThenGuest"},
        {"key": "BcdrAgentPersistentKeys", "name": "SnapshotWithoutThreads", "value": "True"},
    ]
    assert facts(ctx, "service.start_type") == [
        {"service": "IaaSVmProvider", "start": 4, "start_name": "disabled", "source": "registry"},
        {"service": "VSS", "start": 3, "start_name": "manual", "source": "registry"},
    ]
    assert facts(ctx, "dhcp.enabled") == [{"interface": "{3a9e6b2c-1111-2222-3333-444455556666}", "enabled": False}]
    # a known key name is its IANA zone (daylight saving by date); ActiveTimeBias is then not needed
    assert facts(ctx, "host.timezone") == ["Europe/Berlin"] and facts(ctx, "tz.utc_offset_minutes") == []
    assert facts(ctx, "sql.present") == [True]


def test_bias_alone_is_minutes_west_of_utc() -> None:
    text = ("Windows Registry Editor Version 5.00\n\n"
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation]\n"
            '"Bias"=dword:000001e0\n"StandardName"="Pacifik Standard Time"\n')  # a name the table lacks
    _, ctx = run("registry_export", utf16(text))
    assert facts(ctx, "tz.utc_offset_minutes") == [-480]
    assert facts(ctx, "host.timezone") == ["Pacifik Standard Time"]


def test_regedit4_ansi_and_hex_expand_sz() -> None:
    text = ('REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]\r\n"UseVssFullBackup"="True"\r\n'
            '"Path"=hex(2):43,3a,5c,00\r\n')
    _, ctx = run("registry_export", text.encode("latin-1"))
    assert facts(ctx, "registry.bcdr") == [{"key": "BcdrAgent", "name": "UseVssFullBackup", "value": "True"},
                                           {"key": "BcdrAgent", "name": "Path", "value": "C:\\"}]


def test_reg_query_output() -> None:
    text = ("\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent\n    USEVSSCOPYBACKUP    REG_SZ    TRUE\n\n"
            "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\IaaSVmProvider\n    Start    REG_DWORD    0x2\n")
    _, ctx = run("registry_export", text.encode(), "reg_query.txt")
    assert not ctx.problems
    assert facts(ctx, "registry.bcdr") == [{"key": "BcdrAgent", "name": "USEVSSCOPYBACKUP", "value": "TRUE"}]
    assert facts(ctx, "service.start_type") == [
        {"service": "IaaSVmProvider", "start": 2, "start_name": "auto", "source": "registry"}]


def test_offline_hive_export_matches_by_suffix_and_bad_lines_are_problems() -> None:
    text = ("Windows Registry Editor Version 5.00\n\n"
            "[HKEY_LOCAL_MACHINE\\TempSystem\\ControlSet002\\Services\\RdAgent]\n"
            '"Start"=dword:00000002\nthis line is not registry syntax\n')
    _, ctx = run("registry_export", utf16(text))
    assert facts(ctx, "service.start_type")[0]["service"] == "RdAgent"  # type: ignore[index]
    assert [p.line for p in ctx.problems] == [5]
