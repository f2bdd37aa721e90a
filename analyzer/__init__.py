"""bundle-analyzer: why did an Azure VM backup fail with a snapshot timeout? Evidence from a log bundle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from analyzer.api import Options, analyze

__all__ = ["Options", "__version__", "analyze"]


def __getattr__(name: str) -> Any:  # lazy: keep `import analyzer` cheap for the CLI's cold start
    if name in ("analyze", "Options"):
        from analyzer import api

        return getattr(api, name)
    raise AttributeError(name)
