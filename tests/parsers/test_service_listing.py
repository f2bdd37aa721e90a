"""sc query / sc qc / Get-Service / vssadmin list writers."""

from __future__ import annotations

import pytest

from analyzer.api import parse_bundle
from parsers import get_parser
from tests.parsers.windows_helpers import facts, run, utf16

VSSADMIN = """vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool
(C) Copyright 2001-2013 Microsoft Corp.

Writer name: 'Microsoft Hyper-V VSS Writer'
   Writer Id: {66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}
   Writer Instance Id: {6162e336-7448-4371-93a7-29581512b103}
   State: [8] Failed
   Last error: Inconsistent shadow copy
Writer name: 'System Writer'
   Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}
   State: [5] Waiting for completion
   Last error: No error
"""

SC = """[SC] QueryServiceConfig SUCCESS

SERVICE_NAME: IaaSVmProvider
        TYPE               : 10  WIN32_OWN_PROCESS
        START_TYPE         : 4   DISABLED
        ERROR_CONTROL      : 1   NORMAL
        DISPLAY_NAME       : IaaSVmProvider

SERVICE_NAME: VSS
DISPLAY_NAME: Volume Shadow Copy
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 1  STOPPED
        WIN32_EXIT_CODE    : 1077  (0x435)
"""

GET_SERVICE = """
Status   Name               StartType DisplayName
------   ----               --------- -----------
Running  RdAgent            Automatic RdAgent
Stopped  VSS                   Manual Volume Shadow Copy
Running  SQLWriter          Automatic SQL Server VSS Writer
"""


def test_vssadmin_writers_keep_the_state_number() -> None:
    _, ctx = run("service_listing", utf16(VSSADMIN), "vssadmin_list_writers.txt")
    assert facts(ctx, "vss.writer") == [
        {"name": "Microsoft Hyper-V VSS Writer", "state": 8, "state_text": "FAILED_AT_PREPARE_SNAPSHOT",
         "last_error": "Inconsistent shadow copy", "writer_id": "{66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}"},
        {"name": "System Writer", "state": 5, "state_text": "WAITING_FOR_BACKUP_COMPLETE", "last_error": "",
         "writer_id": "{e8132975-6f93-4464-a53e-1050253ae220}"},
    ]


def test_sc_qc_and_sc_query() -> None:
    _, ctx = run("service_listing", SC.encode(), "sc_qc.txt")
    assert facts(ctx, "service.start_type") == [
        {"service": "IaaSVmProvider", "start": 4, "start_name": "disabled", "source": "sc"}]
    assert facts(ctx, "service.state") == [{"service": "VSS", "state": "stopped"}]


def test_get_service_table_and_sql_writer() -> None:
    _, ctx = run("service_listing", utf16(GET_SERVICE, bom=False), "get-service.txt")
    assert facts(ctx, "service.state") == [{"service": "RdAgent", "state": "running"},
                                           {"service": "VSS", "state": "stopped"},
                                           {"service": "SQLWriter", "state": "running"}]
    assert [f["start_name"] for f in facts(ctx, "service.start_type")] == ["auto", "manual", "auto"]  # type: ignore[index]
    assert facts(ctx, "sql.present") == [True]


def test_get_service_format_list() -> None:
    text = "Name        : WindowsAzureGuestAgent\nDisplayName : Windows Azure Guest Agent\nStatus      : Stopped\n" \
           "StartType   : Disabled\n"
    _, ctx = run("service_listing", text.encode())
    assert facts(ctx, "service.start_type") == [
        {"service": "WindowsAzureGuestAgent", "start": 4, "start_name": "disabled", "source": "Get-Service"}]


def test_unrelated_text_is_a_problem() -> None:
    _, ctx = run("service_listing", b"nothing to see\n")
    assert ctx.problems and not ctx.facts


# --- pasted as people paste them: prompts, no indentation, other languages, any file name (issue 13 class 8) ---
PASTES = {
    "vssadmin-flat": ("C:\\Users\\azureuser>vssadmin list writers\nvssadmin 1.1 - Volume Shadow Copy Service "
                      "administrative command-line tool\n\nWriter name: 'SqlServerWriter'\nWriter Id: "
                      "{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}\nState: [9] Failed\nLast error: Timed out\n"
                      "Writer name: 'System Writer'\nWriter Id: {e8132975-6f93-4464-a53e-1050253ae220}\n"
                      "State: [1] Stable\nLast error: No error\n"),
    "vssadmin-german": ("Verfassername: 'SqlServerWriter'\n"
                        "   Verfasserkennung: {a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}\n"
                        "   Status: [9] Fehlgeschlagen\n   Letzter Fehler: Zeitüberschreitung\n"
                        "Verfassername: 'System Writer'\n   Verfasserkennung: {e8132975-6f93-4464-a53e-1050253ae220}\n"
                        "   Status: [1] Stabil\n   Letzter Fehler: Kein Fehler\n"),
    "sc-prompt": ("C:\\Windows\\system32>sc qc IaaSVmProvider\n[SC] QueryServiceConfig SUCCESS\n\n"
                  "SERVICE_NAME: IaaSVmProvider\nTYPE               : 10  WIN32_OWN_PROCESS\n"
                  "START_TYPE         : 4   DISABLED\nDISPLAY_NAME       : IaaSVmProvider\n\n"
                  "C:\\Windows\\system32>sc query VSS\n\nSERVICE_NAME: VSS\n        STATE              : 1  STOPPED\n"),
    "get-service-select": ("PS C:\\Users\\azureuser> Get-Service IaaSVmProvider,VSS | Select Name,StartType,Status\n\n"
                           "Name           StartType  Status\n----           ---------  ------\n"
                           "IaaSVmProvider  Disabled Stopped\nVSS               Manual Stopped\n"),
    "get-service-fl": ("PS C:\\> Get-Service IaaSVmProvider | Format-List *\n\nName                : IaaSVmProvider\n"
                       "RequiredServices    : {}\nDisplayName         : IaaSVmProvider\nStatus              : Stopped\n"
                       "ServiceType         : Win32OwnProcess\nStartType           : Disabled\n"),
    "cim-startmode": ("PS C:\\> Get-CimInstance Win32_Service -Filter \"Name='IaaSVmProvider'\" | Select Name,"
                      "StartMode,State\n\nName           StartMode State\n----           --------- -----\n"
                      "IaaSVmProvider Disabled  Stopped\n"),
}


@pytest.mark.parametrize("shape", PASTES)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_pasted_listings_of_any_name(tmp_path, shape: str, encoding: str) -> None:  # type: ignore[no-untyped-def]
    text = PASTES[shape]
    data = utf16(text) if encoding == "utf-16" else text.replace("\n", "\r\n").encode()
    assert get_parser("service_listing").sniff("paste.txt", data[:4096])
    for name in ("ticket_4711.txt", "events.txt"):  # a name suggesting event text does not decide
        (tmp_path / name).write_bytes(data)
        analysis, _ = parse_bundle(tmp_path / name)
        assert [s.parser for s in analysis.sources] == ["service_listing"], name
        (tmp_path / name).unlink()
    _, ctx = run("service_listing", data, "paste.txt")
    if shape.startswith("vssadmin"):
        writers = facts(ctx, "vss.writer")
        assert [(w["name"], w["state"], w["last_error"]) for w in writers] == [  # type: ignore[index]
            ("SqlServerWriter", 9, writers[0]["last_error"]), ("System Writer", 1, "")]  # type: ignore[index]
        assert writers[0]["last_error"] != ""  # type: ignore[index]
    else:
        starts = [f for f in facts(ctx, "service.start_type") if f["service"] == "IaaSVmProvider"]  # type: ignore[index]
        assert starts and all(f["start"] == 4 for f in starts)  # type: ignore[index]


# vssadmin in other languages: name, state and last error are told by the shape of their values
_LANGS = {  # (writer-name key, id key, state key, last-error key, failed-state text, its error, "no error")
    "fr": ("Nom du rédacteur", "ID du rédacteur", "État", "Dernière erreur", "Échec", "Délai d'attente dépassé",
           "Aucune erreur"),
    "es": ("Nombre del escritor", "Id. del escritor", "Estado", "Último error", "Error", "Tiempo de espera agotado",
           "Sin error"),
    "ja": ("ライター名", "ライター ID", "状態", "最後のエラー", "失敗", "タイムアウト", "エラーなし"),
    "sv": ("Skrivarnamn", "Skrivar-ID", "Tillstånd", "Senaste fel", "Misslyckades", "Tidsgränsen överskreds",
           "Inget fel"),  # a phrase the parser does not know: the stable writers tell it
}


def _vssadmin(lang: str, failed: bool, indent: str = "   ", quotes: str = "''") -> str:
    name, wid, state, last, bad, error, ok = _LANGS[lang]
    rows = [("Task Scheduler Writer", "{d61d61c8-d73a-4eee-8cdd-f6f9786b7124}", "[1] Stable", ok),
            ("SqlServerWriter", "{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}",
             f"[9] {bad}" if failed else "[1] Stable", error if failed else ok),
            ("System Writer", "{e8132975-6f93-4464-a53e-1050253ae220}", "[1] Stable", ok)]
    return "C:\\>vssadmin list writers\n\n" + "\n".join(
        f"{name} : {quotes[0]}{n}{quotes[1]}\n{indent}{wid} : {i}\n{indent}{state} : {s}\n{indent}{last} : {e}\n"
        for n, i, s, e in rows)


@pytest.mark.parametrize("lang", _LANGS)
@pytest.mark.parametrize("indent", ["   ", ""])
@pytest.mark.parametrize("quotes", ["''", '""', "„“", "«»", "‘’", "「」"])
def test_vssadmin_in_any_language(lang: str, indent: str, quotes: str) -> None:
    for failed in (True, False):
        data = utf16(_vssadmin(lang, failed, indent, quotes))
        assert get_parser("service_listing").sniff("paste.txt", data[:4096])
        _, ctx = run("service_listing", data, "paste.txt")
        writers = {w["name"]: (w["state"], w["last_error"]) for w in facts(ctx, "vss.writer")}  # type: ignore[index]
        assert writers["Task Scheduler Writer"] == (1, "") and writers["System Writer"] == (1, "")
        assert writers["SqlServerWriter"] == ((9, _LANGS[lang][5]) if failed else (1, ""))


@pytest.mark.parametrize("lang", ["fr", "es", "ja"])
def test_the_no_error_phrase_is_known_without_stable_writers_to_tell_it(lang: str) -> None:
    """One failed writer alone: no stable writer shows the listing's "no error" phrase, the parser knows it."""
    name, wid, state, last, bad, _, ok = _LANGS[lang]
    text = f"{name} : 'SqlServerWriter'\n   {wid} : {{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}}\n" \
           f"   {state} : [9] {bad}\n   {last} : {ok}\n"
    _, ctx = run("service_listing", utf16(text), "paste.txt")
    assert [(w["state"], w["last_error"]) for w in facts(ctx, "vss.writer")] == [(9, "")]  # type: ignore[index]


@pytest.mark.parametrize("lang", _LANGS)
def test_vssadmin_pasted_alone_gives_the_writer_finding_or_none(tmp_path, lang: str) -> None:  # type: ignore[no-untyped-def]
    from analyzer.api import analyze
    from analyzer.model import severity_rank

    for failed in (True, False):
        path = tmp_path / f"writers-{failed}.txt"
        path.write_text(_vssadmin(lang, failed), encoding="utf-8")
        report = analyze(path)
        problems = {f.id for f in report.findings if severity_rank(f.severity) >= severity_rank("warning")}
        assert problems == ({"VSS_WRITER_FAILED"} if failed else set()), (lang, failed)
