"""Detectors: one per finding id of DESIGN.md 3.5, grouped by cause family, plus third-party plugins.

A detector class defined in a family module (:data:`FAMILIES`) is built in: adding a finding is its class,
its locale entries and a sample (README, "Adding a finding").

Plugins register in the entry-point group ``bundle_analyzer.detectors``; an entry point names a
:class:`~analyzer.detectors.base.Detector` subclass, an instance, or an iterable of either.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

from analyzer.detectors import agent, extension, network, resources, snapshot, windows
from analyzer.detectors.base import Detector, NotEvaluable
from analyzer.detectors.scope import Scope
from analyzer.model import Analysis, Finding, MissingEvidence, SourceEntry, say

ENTRY_POINT_GROUP = "bundle_analyzer.detectors"
#: the modules of built-in detectors, one per cause family; every Detector with an ``id`` defined in one runs
FAMILIES = (network, agent, extension, windows, snapshot, resources)


def _defined_in(module: ModuleType) -> list[type[Detector]]:
    return [obj for obj in vars(module).values() if isinstance(obj, type) and issubclass(obj, Detector)
            and obj.__module__ == module.__name__ and "id" in vars(obj)]


BUILTIN: tuple[type[Detector], ...] = tuple(cls for module in FAMILIES for cls in _defined_in(module))


def _instances(obj: Any) -> Iterable[Detector]:
    if isinstance(obj, type) and issubclass(obj, Detector):
        yield obj()
    elif isinstance(obj, Detector):
        yield obj
    elif isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        for item in obj:
            yield from _instances(item)
    else:
        raise TypeError(f"not a Detector: {obj!r}")


@cache
def _entry_points(search_path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    """The group's entry points, looked up once per ``sys.path`` (the lookup reads the metadata of
    every installed distribution: milliseconds, more than a small bundle's analysis)."""
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def plugin_detectors() -> list[Detector]:
    """Detectors of installed distributions (entry-point group ``bundle_analyzer.detectors``).
    A plugin that fails to load is skipped with a warning: it must not stop the analysis."""
    found: list[Detector] = []
    for ep in _entry_points(tuple(sys.path)):
        try:
            found.extend(_instances(ep.load()))
        except Exception as exc:  # noqa: BLE001 - third-party code
            warnings.warn(f"detector plugin {ep.name!r} ({ep.value}) not loaded: {exc}", RuntimeWarning, stacklevel=2)
    return found


def all_detectors() -> list[Detector]:
    """The built-in detectors, then the plugins (a plugin cannot replace a built-in id)."""
    builtin = [cls() for cls in BUILTIN]
    ids = {d.id for d in builtin}
    return builtin + [d for d in plugin_detectors() if d.id not in ids]


def run_detectors(analysis: Analysis, detectors: Iterable[Detector] | None = None,
                  scope: Scope | None = None) -> tuple[list[Finding], list[MissingEvidence]]:
    """Run every detector over one analysis (and its ``scope``, made here when not given); the findings, and
    the evidence that was missing."""
    from analyzer.detectors.missing import missing_evidence

    scope = scope or Scope.of(analysis)
    findings: list[Finding] = []
    not_evaluable: list[NotEvaluable] = []
    for d in all_detectors() if detectors is None else detectors:
        try:
            result = d.run(analysis, scope)
        except Exception as exc:  # noqa: BLE001 - one broken detector must not lose the others' findings
            # shown in every report format as a failed row, like a file that could not be parsed
            analysis.sources.append(SourceEntry(f"detector {d.id}", None, "failed",
                                                error=say("verbatim", text=f"{type(exc).__name__}: {exc}"),
                                                note=say("source.detector_crashed")))
            continue
        if isinstance(result, NotEvaluable):
            not_evaluable.append(result)
        elif result is not None:
            findings.append(result)
    return findings, missing_evidence(analysis, not_evaluable)
