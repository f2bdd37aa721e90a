"""Budgets for one bundle, and the errors intake raises when an input breaks them."""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Configurable caps; every one of them is checked while bytes are read, not after."""

    max_total_bytes: int = 4 * GiB  # uncompressed bytes over the whole bundle, nested included
    max_member_bytes: int = 2 * GiB  # uncompressed bytes of one member
    max_ratio: float = 200.0  # uncompressed / compressed, for members above ratio_floor bytes
    ratio_floor: int = 1 * MiB
    max_members: int = 100_000  # entries over the whole bundle, nested included
    max_depth: int = 4  # archives inside archives
    max_line: int = 64 * 1024  # bytes of one text line handed to a parser


class IntakeError(Exception):
    """The input cannot be opened at all (missing, not an archive, encrypted, over a limit)."""


class LimitExceeded(IntakeError):
    """A budget of :class:`Limits` was broken; the message names the member and the limit."""
