"""One module per source format; each defines ``PARSER`` (see :mod:`parsers.base`).

Modules are imported only when a member needs them, which keeps the start of the CLI fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from parsers.base import Parser

_NOT_PARSERS = {"base", "text"}


def parser_names() -> list[str]:
    """Every parser module of this package, by name."""
    return sorted(
        m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_PARSERS and not m.name.startswith("_")
    )


@cache
def get_parser(name: str) -> Parser:
    """The ``PARSER`` of module ``parsers.<name>``."""
    module = importlib.import_module(f"parsers.{name}")
    parser: Parser = module.PARSER
    return parser
