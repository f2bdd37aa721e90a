"""bundle-analyzer: why did an Azure VM backup fail with a snapshot timeout? Evidence from a log bundle."""

from __future__ import annotations

from typing import Any

from analyzer.version import __version__

__all__ = ["IntakeError", "Limits", "Options", "__version__", "analyze"]


def __getattr__(name: str) -> Any:  # lazy: keep `import analyzer` cheap for the CLI's cold start
    if name == "analyze":
        from analyzer import api

        return api.analyze
    if name == "Options":
        from analyzer import model

        return model.Options
    if name in ("IntakeError", "Limits"):  # what a caller of analyze() catches and passes
        from analyzer import intake

        return getattr(intake, name)
    raise AttributeError(name)
