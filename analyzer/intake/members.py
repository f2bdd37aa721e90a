"""Member: one file of a bundle as intake hands it to recognition and parsers, and the sink intake reports to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol

from analyzer.intake.streams import Budget
from parsers.base import Message


@dataclass
class Member:
    """One file of the bundle. ``stream`` is readable only until the next member is requested."""

    path: str  # normalized relative POSIX path; nested members read "outer.zip/inner/path"
    size: int | None
    stream: BinaryIO
    origin: str = ""  # how it was reached, e.g. "logs.zip!history/x.zip!GoalState.xml"


@dataclass
class IntakeProblem:
    """A member intake refused or could not read; ``message`` is a ``problem.*`` key and its parameters."""

    path: str
    message: Message



class Sink(Protocol):
    """What archive and folder walkers charge and report to (an opened bundle)."""

    budget: Budget

    def problem(self, path: str, message: Message | str) -> None: ...
