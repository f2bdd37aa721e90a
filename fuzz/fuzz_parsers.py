"""Coverage-guided fuzzing of every text parser with atheris.

Run: ``python3 fuzz/fuzz_parsers.py -max_total_time=600`` (needs ``pip install -e '.[fuzz]'``).
The first input byte picks the parser; the rest is the member's bytes. Any exception escaping a
parser is a crash (parse problems must be data).
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from parsers import get_parser, parser_names
    from parsers.base import ParseContext

    # parser modules are imported lazily: import them here, or atheris sees no coverage inside them
    NAMES = parser_names()
    PARSERS = [get_parser(n) for n in NAMES]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    parser = PARSERS[data[0] % len(PARSERS)]
    ctx = ParseContext("fuzz/member", parser.name)
    for _ in parser.parse(io.BytesIO(data[1:]), ctx):
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
