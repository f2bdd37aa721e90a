"""Render agent log records the way each writer does (linux-formats.md §1.2 e, §2.2), for generated test inputs.

``record(msg, level, gen, at)`` gives one line of generation G0-G4; ``syslog_copy`` / ``journal_copy``
wrap a line as syslog or ``journalctl -o short-iso`` show it. Local-time generations (G0-G2) print ``at``
as the wall clock; G3/G4 print it as UTC.
"""

from __future__ import annotations

from datetime import datetime

GENERATIONS = ("G0", "G1", "G2", "G3", "G4")
COPIES = ("file", "syslog", "journal")


def record(msg: str, level: str = "INFO", gen: str = "G4", at: datetime = datetime(2024, 6, 10, 2, 0, 0),
           component: str = "ExtHandler") -> str:
    """One agent record of generation ``gen``; ``component`` is ``Daemon``, ``ExtHandler`` or ``[Name-Ver]``."""
    if gen == "G0":
        prefix = f"{level}:" if level in ("WARNING", "ERROR") else ""
        ext = component if component.startswith("[") else ""
        return f"{at:%Y/%m/%d %H:%M:%S} {prefix}{ext}{msg}"
    if gen == "G1":
        ext = f"{component} " if component.startswith("[") else ""
        return f"{at:%Y/%m/%d %H:%M:%S.%f} {level} {ext}{msg}"
    if gen == "G2":
        return f"{at:%Y/%m/%d %H:%M:%S.%f} {level} {component} {msg}"
    if gen == "G3":
        return f"{at:%Y-%m-%dT%H:%M:%S.%f}Z {level} {component} {msg}"
    thread = "Daemon" if component == "Daemon" else "ExtHandler"
    return f"{at:%Y-%m-%dT%H:%M:%S.%f}Z {level} {thread} {component} {msg}"


def syslog_copy(line: str, at: datetime = datetime(2024, 6, 10, 2, 0, 0)) -> str:
    return f"{at:%b %d %H:%M:%S} vm1 python3[1036]: {line}"


def journal_copy(line: str, at: datetime = datetime(2024, 6, 10, 2, 0, 0)) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%S}+0000 vm1 waagent[7155]: {line}"


def copy(line: str, how: str, at: datetime = datetime(2024, 6, 10, 2, 0, 0)) -> str:
    """``line`` as the agent's own file (``file``), a syslog copy or a journal export shows it."""
    return {"file": line, "syslog": syslog_copy(line, at), "journal": journal_copy(line, at)}[how]
