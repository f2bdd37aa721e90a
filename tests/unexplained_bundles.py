"""Bundles for the unexplained-error tests, generated in the real formats (linux-formats.md 2.2, 2.4 and 2.7,
windows-formats.md 1.3): healthy VMs whose agents write their routine warnings, optionally with another
extension failing, or the agent logging an error no detector knows, after today's backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

VMS = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
OTHER = "Microsoft.OSTCExtensions.VMAccessForLinux"
T0 = datetime(2024, 6, 10, 2, 0, tzinfo=UTC)
DAYS = 3
#: an agent error that no detector knows and that names no extension
AGENT_FAILURE = "Error in the telemetry event collector: [ValueError] index 52 out of range, last upload"
VERSIONS = {"G1": "2.2.18", "G2": "2.2.45", "G3": "2.2.46", "G4": "2.9.1.1"}  # linux-formats.md 2.2


def _stamp(gen: str, t: datetime) -> str:
    if gen in ("G3", "G4"):
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y/%m/%d %H:%M:%S.%f")  # G1/G2 write local time; these VMs run in UTC


def _agent(gen: str, t: datetime, level: str, prefix: str, msg: str) -> str:
    """One record of the agent's log in generation ``gen`` (``prefix`` ExtHandler or [ext-version])."""
    if gen == "G4":
        return f"{_stamp(gen, t)} {level} ExtHandler {prefix} {msg}"
    if gen in ("G3", "G2"):
        return f"{_stamp(gen, t)} {level} {prefix} {msg}"
    return f"{_stamp(gen, t)} {level} {'' if prefix == 'ExtHandler' else prefix + ' '}{msg}"


def linux_bundle(root: Path, gen: str, other_failure: bool = False, secret: str = "",
                 agent_failure: bool = False) -> Path:
    """Daily successful backups, heartbeats, and the telemetry collector's routine warning after every run;
    ``other_failure``: another extension fails 20 min after today's backup (its line ends with ``secret``);
    ``agent_failure``: the agent logs an error no detector knows 20 min after it (ending with ``secret``)."""
    ext = f"[{VMS}-1.0.9220.0]"
    log: list[str] = []
    snap: list[str] = []
    start = T0 - timedelta(days=DAYS - 1)
    for day in range(DAYS):
        run = start + timedelta(days=day)
        for half_hours in range(-4, 40):
            beat = run + timedelta(minutes=30 * half_hours + 7)
            if gen == "G4":
                log.append(_agent(gen, beat, "INFO", "ExtHandler", "[HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is "
                                  "running as the goal state agent [DEBUG HeartbeatCounter: 5;HeartbeatId: 1]"))
            elif half_hours % 8 == 0:
                log.append(_agent(gen, beat, "INFO", "ExtHandler", f"Agent WALinuxAgent-{VERSIONS[gen]} is running "
                                  "as the goal state agent"))
        log += [_agent(gen, run + timedelta(seconds=31), "INFO", ext, "Target handler state: enabled"),
                _agent(gen, run + timedelta(seconds=32), "INFO", ext, f"Update settings file: {40 + day}.settings"),
                _agent(gen, run + timedelta(seconds=33), "INFO", ext, "Enable extension: [main/handle.sh enable]")]
        if gen in ("G3", "G4"):
            log += [_agent(gen, run + timedelta(minutes=75), "WARNING", "ExtHandler",
                           f"Dropped events for Extension: {VMS}; Details:"), "\tEvent too old (2 events)"]
        task = f"9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d{20 + day}"
        for offset, msg in ((34, "starting enable"), (35, f"taskId: {task}"), (41, "PreSnapshot: Status Code: 200"),
                            (42, "T:S doing snapshot now..."), (66, "T:S snapshotall ends...")):
            snap.append(f"{(run + timedelta(seconds=offset)).strftime('%Y-%m-%d %H:%M:%S.%f')} "
                        f"[{VMS}-1.0]{msg}")
    if other_failure:  # G4: the extension's own logger; older: the event echo (linux-formats.md 2.4)
        failure = ("[ExtensionOperationError] Non-zero exit code: 52, "
                   f"/var/lib/waagent/{OTHER}-1.5.11/vmaccess.py -enable{secret}")
        log.append(_agent(gen, T0 + timedelta(minutes=20), "ERROR", f"[{OTHER}-1.5.11]", failure) if gen == "G4"
                   else _agent(gen, T0 + timedelta(minutes=20), "ERROR", "ExtHandler",
                               f"Event: name={OTHER}, op=Enable, message={failure}, duration=0"))
    if agent_failure:
        log.append(_agent(gen, T0 + timedelta(minutes=20), "ERROR", "ExtHandler",
                          f"{AGENT_FAILURE}{secret}"))
    log.sort()  # one file, in time order (continuation lines follow their record)
    (root / "var/log/azure" / VMS).mkdir(parents=True)
    (root / "var/log/waagent.log").write_text("\n".join(_with_continuations(log)) + "\n", encoding="utf-8")
    (root / "var/log/azure" / VMS / "extension.log").write_text("\n".join(snap) + "\n", encoding="utf-8")
    return root


def _with_continuations(lines: list[str]) -> list[str]:
    """Sorting put every continuation line (no time stamp) first: put each back after its record."""
    out: list[str] = []
    pending = [x for x in lines if x.startswith("\t")]
    for x in lines:
        if x.startswith("\t"):
            continue
        out.append(x)
        if "Dropped events" in x and pending:
            out.append(pending.pop())
    return out


def windows_bundle(root: Path, fmt: str) -> Path:
    """A guest agent starting on a new VM (waiting for OOBE), fetching VM settings, heartbeating."""
    def line(tid: int, t: datetime, level: str, msg: str) -> str:
        if fmt == "A":
            return f"[{tid:08d}] [{t:%m/%d/%Y %H:%M:%S}.{t.microsecond // 10000:02d}] [{level}]  {msg}"
        return f"[{tid:08d}] {t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z [{level}] {msg}"

    start = T0 - timedelta(hours=2)
    lines = [line(6, start, "INFO", "WindowsAzureGuestAgent starting. Version 2.7.41491.1102"),
             line(6, start + timedelta(seconds=18), "WARN", "Waiting for OOBE to Complete ...")]
    for hour in range(6):
        t = start + timedelta(hours=hour, minutes=8)
        lines.append(line(20, t, "HEART", "WindowsAzureGuestAgent Heartbeat."))
        lines.append(line(38, t + timedelta(seconds=58), "WARN",
                          f"Trying to download VMSettingsProfile with etag {13033797738084609833 + hour}"))
    (root / "WindowsAzure/Logs").mkdir(parents=True)
    (root / "WindowsAzure/Logs/WaAppAgent.log").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return root
