"""Event-log CSV exports: Event Viewer (unnamed message column), Get-WinEvent, Get-EventLog; local time."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime

import pytest

from analyzer.sources import recognize_content
from parsers import get_parser
from tests.parsers.windows_helpers import facts, run, utf16

EVENT_VIEWER = (
    "Level,Date and Time,Source,Event ID,Task Category\n"
    "Information,10/7/2016 06:38:24 PM,Microsoft-Windows-Security-Auditing,4658,File System,"
    '"The handle to an object was closed.\n\nSubject:\n\tSecurity ID:\t\tSYSTEM"\n'
    "Error,10/7/2016 06:40:01 PM,Service Control Manager,7034,None,"
    '"The Windows Azure Guest Agent service terminated unexpectedly.  It has done this 1 time(s)."\n'
)


def test_event_viewer_csv_with_multiline_message_in_utf16() -> None:
    events, ctx = run("event_csv", utf16(EVENT_VIEWER), "evt/System.csv")
    assert not ctx.problems
    first, crash = events
    assert first.ts == datetime(2016, 10, 7, 18, 38, 24) and first.local and first.ts.tzinfo is None
    assert first.message.startswith("The handle to an object was closed.\n\nSubject:")
    assert first.line == 2 and crash.line == 6
    assert crash.kind == "service.crash" and crash.attrs["service"] == "WindowsAzureGuestAgent"
    assert crash.level == "error" and crash.attrs["event_id"] == 7034 and crash.attrs["task"] == "None"


def test_get_winevent_export_with_dotted_day_first_dates() -> None:
    text = (
        "#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\n"
        '"LevelDisplayName","TimeCreated","ProviderName","Id","TaskDisplayName","Message"\n'
        '"Error","07.09.2023 14:23:28","VSS","12310",,"Volume Shadow Copy Service error: The shadow copy could not '
        'be committed - operation timed out."\n'
    )
    (e,), ctx = run("event_csv", text.encode(), "events.csv")
    assert not ctx.problems
    assert e.ts == datetime(2023, 9, 7, 14, 23, 28) and e.local
    assert e.kind == "vss.error" and e.component == "VSS"


def test_get_eventlog_export_start_type_change_becomes_fact() -> None:
    text = (
        '"EventID","MachineName","Data","Index","Category","CategoryNumber","EntryType","Message","Source",'
        '"ReplacementStrings","InstanceId","TimeGenerated","TimeWritten","UserName"\n'
        '"7040","VM1","System.Byte[]","5","(0)","0","Information","The start type of the IaaSVmProvider service was '
        'changed from auto start to disabled.","Service Control Manager","System.String[]","1073748864",'
        '"9/29/2026 10:01:02 AM","9/29/2026 10:01:02 AM",\n'
    )
    (e,), ctx = run("event_csv", text.encode(), "eventlog.csv")
    assert e.kind == "service.state" and e.attrs["start_type"] == "disabled" and e.attrs["record_id"] == 5
    assert e.ts == datetime(2026, 9, 29, 10, 1, 2) and e.attrs["computer"] == "VM1"
    assert facts(ctx, "service.start_type") == [
        {"service": "IaaSVmProvider", "start": 4, "start_name": "disabled", "source": "event 7040"}]


def test_localized_header_falls_back_to_event_viewer_order_and_24h_times() -> None:
    text = ("Ebene,Datum und Uhrzeit,Quelle,Ereignis-ID,Aufgabenkategorie\n"
            "Warnung,13.09.2023 14:23:28,Microsoft-Windows-Dhcp-Client,1001,Keine,Your computer was not assigned "
            "an address from the network\n")
    (e,), _ = run("event_csv", text.encode("utf-8-sig"))
    assert e.kind == "dhcp.error" and e.level == "warning" and e.ts == datetime(2023, 9, 13, 14, 23, 28)


def test_day_first_is_learned_from_an_unambiguous_date() -> None:
    text = ("Level,Date and Time,Source,Event ID,Task Category\n"
            "Information,25/12/2023 10:00:00,EventLog,6005,None,The Event log service was started.\n"
            "Information,03/04/2024 10:00:00,EventLog,6006,None,The Event log service was stopped.\n")
    boot, stop = run("event_csv", text.encode())[0]
    assert boot.kind == "system.boot" and stop.kind == "system.shutdown"
    assert stop.ts == datetime(2024, 4, 3, 10, 0)


def test_not_an_event_table_is_a_problem() -> None:
    events, ctx = run("event_csv", b"name,value\na,1\nb,2\n")
    assert events == [] and ctx.problems


# Event Viewer's own column names, level words and SCM 7034 message in the languages Windows ships; dates as each
# locale writes them; the service's display name is never translated
LOCALIZED = [
    ("Ebene,Datum und Uhrzeit,Quelle,Ereignis-ID,Aufgabenkategorie", "Fehler", "20.11.2024 22:30:00", "Keine",
     'Der Dienst "Windows Azure Guest Agent" wurde unerwartet beendet. Dies ist bereits 5 Mal passiert.'),
    ("Niveau,Date et heure,Source,ID de l'événement,Catégorie de la tâche", "Erreur", "20/11/2024 22:30:00", "Aucun",
     "Le service Windows Azure Guest Agent s'est arrêté de façon inattendue. Il s'est arrêté 5 fois."),
    ("Nivel,Fecha y hora,Origen,Id. del evento,Categoría de la tarea", "Error", "20/11/2024 22:30:00", "Ninguno",
     "El servicio Windows Azure Guest Agent terminó de manera inesperada. Esto ha sucedido 5 veces."),
    ("Livello,Data e ora,Origine,ID evento,Categoria attività", "Errore", "20/11/2024 22:30:00", "Nessuna",
     "Il servizio Windows Azure Guest Agent è stato interrotto in modo imprevisto. Ciò si è verificato 5 volte."),
    ("Poziom,Data i godzina,Źródło,Identyfikator zdarzenia,Kategoria zadania", "Błąd", "20.11.2024 22:30:00",
     "Brak", "Usługa Windows Azure Guest Agent została nieoczekiwanie zakończona. Zdarzyło się to 5 razy."),
    ("Уровень,Дата и время,Источник,Код события,Категория задачи", "Ошибка", "20.11.2024 22:30:00", "Отсутствует",
     "Служба «Windows Azure Guest Agent» неожиданно завершена. Это произошло 5 раз."),
    ("レベル,日付と時刻,ソース,イベント ID,タスクのカテゴリ", "エラー", "2024/11/20 22:30:00", "なし",
     "Windows Azure Guest Agent サービスは予期せぬ原因により終了しました。このサービスの強制終了は 5 回目です。"),
    ("Úroveň,Datum a čas,Zdroj,ID události,Kategorie úlohy", "Chyba", "20.11.2024 22:30:00", "Žádné",
     "Služba Windows Azure Guest Agent byla neočekávaně ukončena. Stalo se to již 5krát."),
]


def _localized(header: str, level: str, when: str, none: str, message: str, delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header.split(","))
    writer.writerow([level, when, "Service Control Manager", "7034", none, message])
    return out.getvalue()


@pytest.mark.parametrize("delimiter,parser", [(",", "event_csv"), (";", "event_csv"), ("\t", "event_text")])
@pytest.mark.parametrize("encode", [lambda t: t.encode("utf-8-sig"), utf16], ids=["utf8-bom", "utf16"])
@pytest.mark.parametrize("header,level,when,none,message", LOCALIZED, ids=[row[0].split(",")[0] for row in LOCALIZED])
def test_an_event_viewer_export_in_any_language_is_recognized_by_its_shape_and_read(
        header: str, level: str, when: str, none: str, message: str, delimiter: str, parser: str,
        encode: Callable[[str], bytes]) -> None:
    data = encode(_localized(header, level, when, none, message, delimiter))
    found = recognize_content("Ereignisse/System.csv", data)
    assert found is not None and found.parser == parser
    (e,), ctx = run(parser, data)
    assert e.attrs["event_id"] == 7034 and e.ts == datetime(2024, 11, 20, 22, 30) and not ctx.problems
    assert e.kind == "service.crash" and e.attrs["service"] == "WindowsAzureGuestAgent"


@pytest.mark.parametrize("text", [
    "Name,Created,Owner,Size,Kind\nreport,notes,bob,twelve,file\n",      # no date, no number where the id goes
    '"(PDH-CSV 4.0)","\\\\VM\\Processor(_Total)\\% Processor Time","\\\\VM\\Memory\\Available MBytes","a","b"\n'
    '"11/20/2024 22:30:00.123","12.5","2048","1","2"\n',                  # a perfmon log: the date comes first
    "Level,When\nError,20.11.2024 22:30:00\n",                              # too few columns
])
def test_a_table_of_another_shape_is_not_an_event_export(text: str) -> None:
    assert not get_parser("event_csv").sniff("data.csv", text.encode())


# SCM 7040 and 7036 as a Windows in another language renders them (an Event Viewer CSV: no EventData)
LOCALIZED_7040 = {
    "de": 'Der Starttyp des Diensts "IaaSVmProvider" wurde von Automatisch starten in Deaktiviert geändert.',
    "fr": "Le type de démarrage du service IaaSVmProvider est passé de Démarrage automatique à Désactivé.",
    "es": "El tipo de inicio del servicio IaaSVmProvider se cambió de inicio automático a deshabilitado.",
    "it": "Il tipo di avvio del servizio IaaSVmProvider è stato modificato da avvio automatico a disabilitato.",
    "pt": "O tipo de início do serviço IaaSVmProvider foi alterado de início automático para desabilitado.",
    "cs": "Typ spouštění služby IaaSVmProvider byl změněn z Automatické spuštění na Zakázáno.",
    "ja": "IaaSVmProvider サービスの開始の種類は 自動開始 から 無効 に変更されました。",
    "zh": "IaaSVmProvider 服务的启动类型从 自动启动 更改为 已禁用。",
}
LOCALIZED_7036 = {
    "de": ('Der Dienst "Windows Azure Guest Agent" befindet sich jetzt im Status "Beendet".', "stopped"),
    "es": ("El servicio Windows Azure Guest Agent entró en estado detenido.", "stopped"),
    "fr": ("Le service Windows Azure Guest Agent est entré dans l’état : en cours d'exécution.", "running"),
    "ja": ("Windows Azure Guest Agent サービスは 停止 状態に移行しました。", "stopped"),
}


@pytest.mark.parametrize("lang", sorted(LOCALIZED_7040))
@pytest.mark.parametrize("new", ["disabled", "manual"])
def test_a_localized_start_type_change_is_read(lang: str, new: str) -> None:
    message = LOCALIZED_7040[lang]
    if new == "manual":  # the same sentence to a demand start
        for disabled, manual in (("Deaktiviert", "Bei Bedarf starten"), ("Désactivé", "Démarrage à la demande"),
                                 ("deshabilitado", "inicio a petición"), ("disabilitato", "avvio su richiesta"),
                                 ("desabilitado", "início sob demanda"), ("Zakázáno", "Spuštění na vyžádání"),
                                 ("無効", "要求に応じて開始"), ("已禁用", "按需启动")):
            message = message.replace(disabled, manual)
    text = f'Nivel,Fecha y hora,Origen,Id. del evento,Categoría de la tarea\nInformación,10/06/2024 1:02:03,' \
           f'Service Control Manager,7040,Ninguno,"{message}"\n'
    (e,), ctx = run("event_csv", text.encode("utf-8-sig"), "System.csv")
    assert e.kind == "service.state" and e.attrs["service"] == "IaaSVmProvider", (e.kind, e.attrs)
    assert (e.attrs["start_type"], e.attrs["old_start_type"]) == (new, "auto")
    assert facts(ctx, "service.start_type")[0]["start_name"] == new


@pytest.mark.parametrize("lang", sorted(LOCALIZED_7036))
def test_a_localized_service_state_is_read(lang: str) -> None:
    message, state = LOCALIZED_7036[lang]
    text = f'Level,Date and Time,Source,Event ID,Task Category\nInformation,6/10/2024 1:02:03 AM,' \
           f'Service Control Manager,7036,None,"{message}"\n'
    (e,), _ = run("event_csv", text.encode(), "System.csv")
    assert e.kind == "service.state" and e.attrs["state"] == state, (e.kind, e.attrs)


ENGLISH = ("Level,Date and Time,Source,Event ID,Task Category", "Error", "11/20/2024 10:30:00 PM", "None",
           "The Windows Azure Guest Agent service terminated unexpectedly.  It has done this 5 time(s).")


@pytest.mark.parametrize("delimiter,parser", [(",", "event_csv"), (";", "event_csv"), ("\t", "event_text")])
@pytest.mark.parametrize("encode", [lambda t: t.encode("utf-8"), lambda t: t.encode("utf-8-sig"), utf16],
                         ids=["utf8", "utf8-bom", "utf16"])
@pytest.mark.parametrize("header,level,when,none,message", [ENGLISH, *LOCALIZED],
                         ids=["English", *(row[0].split(",")[0] for row in LOCALIZED)])
def test_a_header_ending_in_a_delimiter_names_the_message_column(
        header: str, level: str, when: str, none: str, message: str, delimiter: str, parser: str,
        encode: Callable[[str], bytes]) -> None:
    """Event Viewer's TXT export ends its header with a tab (``...Task Category<TAB>``): the sixth column, the message,
    has an empty name; some CSV writers do the same with a trailing comma. The message is read as with no sixth name."""
    text = _localized(header, level, when, none, message, delimiter)
    head, rest = text.split("\n", 1)
    data = encode(f"{head}{delimiter}\r\n{rest.replace(chr(10), chr(13) + chr(10))}")
    found = recognize_content("System.txt", data)
    assert found is not None and found.parser in (parser, "event_csv")  # English names: either reads a TXT export
    (e,), ctx = run(found.parser, data, "System.txt")
    assert not ctx.problems
    assert e.message == message and e.ts == datetime(2024, 11, 20, 22, 30)
    assert e.kind == "service.crash" and e.attrs["service"] == "WindowsAzureGuestAgent"
