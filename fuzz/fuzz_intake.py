"""Coverage-guided fuzzing of bundle intake (archive readers, nesting, limits) with atheris.

Run: ``python3 fuzz/fuzz_intake.py -max_total_time=600``. Each input is written to an anonymous-
named temporary file and opened as a bundle with small limits; intake may refuse it with
IntakeError, but any other exception, or a file appearing in the working folder, is a crash.
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import analyzer.intake.archives  # noqa: F401 - imported lazily by Bundle.members(); instrument it too
    from analyzer.intake import IntakeError, Limits, open_bundle

LIMITS = Limits(max_total_bytes=8 << 20, max_member_bytes=4 << 20, max_members=200, max_depth=3)
_TMP = tempfile.mkdtemp(prefix="fuzz-intake-")
_CWD_BEFORE = set(os.listdir("."))


def test_one_input(data: bytes) -> None:
    path = os.path.join(_TMP, "input")
    with open(path, "wb") as f:
        f.write(data)
    try:
        bundle = open_bundle(path, LIMITS)
        for member in bundle.members():
            member.stream.read(1 << 16)
    except IntakeError:
        pass
    if set(os.listdir(_TMP)) != {"input"} or set(os.listdir(".")) != _CWD_BEFORE:
        raise RuntimeError("intake wrote a file outside its anonymous temp files")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
