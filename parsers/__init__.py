"""One module per source format, grouped by family; each format module defines ``PARSER``.

* ``linux_agent/``: the Linux guest agent's and the VMSnapshotLinux extension's logs, and agent
  records inside syslog and journal copies;
* ``state/``: configuration and state files of the agents, extensions and system (both OSes);
* ``windows_agent/``: the Windows guest agent's and the IaaSBcdr extension's logs;
* ``windows_events/``: Windows event logs and their exports, registry exports, command output.

A parser's name is its module name (``waagent_log``), unique over all families; modules whose name
starts with ``_`` are shared helpers of a family. Modules are imported only when a member needs
them, which keeps the start of the CLI fast. The contract is :mod:`parsers.base`.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from parsers.base import Parser

FAMILIES = ("linux_agent", "state", "windows_agent", "windows_events")


@cache
def _modules() -> dict[str, str]:
    """Parser name -> dotted module path, for every format module of every family."""
    found: dict[str, str] = {}
    for family in FAMILIES:
        package = importlib.import_module(f"parsers.{family}")
        for m in pkgutil.iter_modules(package.__path__):
            if not m.name.startswith("_"):
                found[m.name] = f"parsers.{family}.{m.name}"
    return found


def parser_names() -> list[str]:
    """Every parser of this package, by name."""
    return sorted(_modules())


@cache
def get_parser(name: str) -> Parser:
    """The ``PARSER`` of the format module called ``name``."""
    module = importlib.import_module(_modules()[name])
    parser: Parser = module.PARSER
    return parser
