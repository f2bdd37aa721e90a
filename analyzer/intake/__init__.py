"""Safe intake of one bundle: a folder, an archive, or archives nested in archives.

``open_bundle(path, limits)`` returns a :class:`Bundle`; iterating ``bundle.members()`` yields
:class:`Member` objects one at a time. A member's stream is valid only until the next member is
requested (tar is read as a stream). Nothing is extracted under a name the archive chose; nested
archives are spooled to anonymous temporary files. Problems with single members (refused types,
limits, corrupt data) are collected in ``bundle.problems`` and the walk goes on; an input that cannot
be opened at all raises :class:`IntakeError`.
"""

from __future__ import annotations

from analyzer.intake.bundle import Bundle, open_bundle
from analyzer.intake.limits import IntakeError, LimitExceeded, Limits
from analyzer.intake.members import IntakeProblem, Member
from analyzer.intake.paths import normalize_path

__all__ = [
    "Bundle",
    "IntakeError",
    "IntakeProblem",
    "LimitExceeded",
    "Limits",
    "Member",
    "normalize_path",
    "open_bundle",
]
