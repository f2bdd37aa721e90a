"""Budgets for one bundle, and the errors intake raises when an input breaks them."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.errors import MessageError
from parsers.base import MAX_LINE, Message

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Configurable caps; every one of them is checked while bytes are read, not after.

    Depth counts archives inside the input: the input archive is depth 0, an archive inside it depth 1,
    and an archive found at a depth above ``max_depth`` is refused, not opened. A compression layer
    directly around a tar (``.tar.gz``) is part of that archive; any other compression layer (a ``.gz``
    of a ``.gz``) counts as one more level.
    """

    max_total_bytes: int = 4 * GiB  # bytes read out of archives over the whole bundle, nested included
    max_member_bytes: int = 2 * GiB  # uncompressed bytes of one member, declared and actual
    max_ratio: float = 200.0  # uncompressed / compressed, for outputs above ratio_floor bytes
    ratio_floor: int = 1 * MiB
    max_members: int = 100_000  # entries over the whole bundle, nested included
    max_depth: int = 3  # archives inside archives (security.md section 3.7)
    max_line: int = MAX_LINE  # bytes of one text line handed to a parser (ParseContext.max_line)
    max_meta_bytes: int = 1 * MiB  # one tar GNU long name or PAX header; a 7z header
    max_name: int = 4096  # characters of one member name
    max_seconds: float | None = None  # wall time to read the bundle; checked on every read (None = no limit)


class IntakeError(MessageError):
    """The input cannot be opened at all (missing, not an archive, encrypted, over a limit).

    ``message`` says it in the tool's words (an ``intake.*`` key and its parameters, worded at render time:
    the report's or the command line's language); ``str()`` is that sentence in English (logs)."""


def detail(exc: BaseException) -> Message | str:
    """What an error says, to quote in a message: the tool's own words of an :class:`IntakeError`, else the
    library's text."""
    return exc.message if isinstance(exc, IntakeError) else str(exc)


class LimitExceeded(IntakeError):
    """A budget of :class:`Limits` was broken; the message names the member and the limit."""


class BudgetExhausted(LimitExceeded):
    """A bundle-wide budget (total bytes, member count) is spent: the walk of the whole bundle stops."""


class TimeLimitReached(BudgetExhausted):
    """``max_seconds`` is spent: reading stops, what was read is still analyzed."""
