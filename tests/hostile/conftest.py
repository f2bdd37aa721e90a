"""The ``sandbox`` fixture: every hostile case runs with a private TMPDIR, HOME and working directory,
and afterwards nothing may exist outside the case's input and output folders (security.md oracle O2)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_corpus import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    monkeypatch.chdir(box.cwd)
    monkeypatch.setenv("TMPDIR", str(box.tmp))
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setattr(tempfile, "tempdir", str(box.tmp))  # in-process analyze() uses it too
    yield box
    box.check_nothing_escaped()
