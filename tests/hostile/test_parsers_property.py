"""Property tests: no parser raises on arbitrary bytes or on mutated real samples.

Parse problems are data (``ctx.problem``); an exception escaping a parser is a bug. Every module in
``parsers/`` is covered automatically, so a new parser is tested the day it lands.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import get_parser, parser_names
from parsers.base import ParseContext
from tests.conftest import REFDATA, reference_files

PARSERS = parser_names()
SAMPLES = reference_files(lambda p: p.suffix != ".md" and "LICENSE" not in p.name and p.stat().st_size < 2_000_000)


def run_parser(name: str, data: bytes, path: str = "var/log/x") -> ParseContext:
    ctx = ParseContext(path, name)
    for _ in get_parser(name).parse(io.BytesIO(data), ctx):
        pass
    return ctx


@pytest.mark.parametrize("name", PARSERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(name: str, data: bytes) -> None:
    run_parser(name, data)


@pytest.mark.parametrize("name", PARSERS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=2048))
def test_arbitrary_text_never_raises(name: str, text: str) -> None:
    run_parser(name, text.encode("utf-8", "surrogatepass"))
    run_parser(name, text.encode("utf-16", "surrogatepass"))


def _mutations(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = [data[: len(data) // 2], data + b"\x00" * 16, data.replace(b"\n", b"\r\n")]
    for _ in range(8):
        b = bytearray(data)
        for _ in range(max(1, len(b) // 200)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        out.append(bytes(b))
    return out


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: str(p.relative_to(REFDATA)))
def test_mutated_real_samples_never_raise(sample: Path) -> None:
    data = sample.read_bytes()
    for i, mutated in enumerate(_mutations(data, seed=len(data))):
        for name in PARSERS:
            run_parser(name, mutated, path=f"mutant{i}/{sample.name}")
