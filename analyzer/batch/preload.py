"""Warm-up of a slot of the local pool, imported once before it forks the first per-bundle child.

Everything an analysis imports or builds lazily on its first use (parser modules, detectors and
plugins, diagnosis, redaction, archive readers, the recognition table, the locale catalog, the JSON wording) is made
here, so that every child forks warm instead of paying about 0.1 s of CPU for imports and regex
compilation per bundle. Nothing of any bundle is read here: the children stay isolated.
"""

from __future__ import annotations

import gc
import zoneinfo  # noqa: F401 - imported lazily by analyzer.api for named VM time zones

from analyzer import api, diagnosis, fingerprint, redact, report  # noqa: F401
from analyzer.detectors import all_detectors, missing  # noqa: F401
from analyzer.intake import archives, sevenzip  # noqa: F401
from analyzer.locale import DEFAULT, catalog
from analyzer.sources import recognize_content, recognize_path
from parsers import get_parser, parser_names


def warm() -> None:
    for name in parser_names():
        get_parser(name)
    recognize_path("")  # compiles the recognition table
    recognize_content("", b"")  # lists the sniffers
    catalog(DEFAULT)
    all_detectors()  # finds the plugins' entry points
    gc.freeze()  # the children's collections skip (and so do not copy) the pages of everything above


warm()
