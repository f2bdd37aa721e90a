"""Render stories into bundles a human (or ``bundle-analyze eval``) can open.

    python3 -m tests.scenarios.render --list
    python3 -m tests.scenarios.render linux-fs-freeze-failed -o out                 # its covering cases
    python3 -m tests.scenarios.render linux-fs-freeze-failed --variant layout=sosreport,archive=folder -o out
    python3 -m tests.scenarios.render --all -o corpus && bundle-analyze eval corpus

Each case is a folder ``<story>--<variant id>/`` holding ``bundle<suffix>`` (the archive or folder
as a customer would attach it), ``expected.json`` (findings, root cause, verdict, as in samples/,
plus ``optional`` findings and the story and variant) and ``README.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

from tests.scenarios.layouts import Members, linux_members, pack
from tests.scenarios.stories import STORIES, Story
from tests.scenarios.vm import VM, Variant


def case_name(story: str, variant: Variant) -> str:
    return f"{story}--{variant.id()}"


def members_of(vm: VM, needs: frozenset[str] | set[str] = frozenset()) -> Members:
    """The bundle members of a filled VM, as its variant's layout collects them."""
    from tests.scenarios import render_linux, render_windows

    if vm.os == "linux":
        return linux_members(vm, render_linux.render(vm), vm.variant.layout, set(needs))
    return render_windows.members(vm, render_windows.render(vm), vm.variant.layout)


def build(story: Story, variant: Variant) -> tuple[VM, Members]:
    """(vm, members) of one case."""
    vm = story.build(variant)
    return vm, members_of(vm, story.needs)


def render_case(story: Story, variant: Variant, out: Path) -> Path:
    """Write one case folder under ``out``; returns the folder."""
    vm, members = build(story, variant)
    assert vm.expect is not None, f"{story.name} sets no expectation"
    folder = out / case_name(story.name, variant)
    folder.mkdir(parents=True, exist_ok=False)
    pack(members, variant.archive, folder / "bundle", inner_name=vm.host)
    expected = vm.expect.to_json() | {"story": story.name, "variant": variant.to_dict()}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(f"{story.summary}\n\nVariant: {variant.id()}\n", encoding="utf-8")
    return folder


def parse_variant(text: str, base: Variant) -> Variant:
    fields = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in Variant.__dataclass_fields__:
            raise SystemExit(f"unknown axis {key!r}; axes: {', '.join(Variant.__dataclass_fields__)}")
        fields[key] = int(value) if key == "seed" else value
    return replace(base, **fields)


def main(argv: list[str] | None = None) -> int:
    from tests.scenarios.design import cases, full_cases

    ap = argparse.ArgumentParser(prog="python3 -m tests.scenarios.render", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stories", nargs="*", help="story names (default with --all: every story)")
    ap.add_argument("--variant", help="axis=value,...: render one variant (unset axes from the story's first case)")
    ap.add_argument("--all", action="store_true", help="every story's covering cases")
    ap.add_argument("--pairwise", action="store_true", help="every pair of axis values (about 10x the cases)")
    ap.add_argument("--full", action="store_true", help="the full cross product of the axes (huge; see --max)")
    ap.add_argument("--max", type=int, default=0, help="at most this many cases per story")
    ap.add_argument("--list", action="store_true", help="list stories and their cases")
    ap.add_argument("-o", "--out", type=Path, help="output folder (created)")
    args = ap.parse_args(argv)
    names = args.stories or (sorted(STORIES) if args.all or args.list or args.full else [])
    if not names:
        ap.error("name a story, or --all / --list")
    unknown = [n for n in names if n not in STORIES]
    if unknown:
        ap.error(f"unknown stories: {', '.join(unknown)} (see --list)")
    todo: list[tuple[Story, Variant]] = []
    for name in names:
        s = STORIES[name]
        variants = list(itertools.islice(full_cases(s), args.max or None)) if args.full else \
            cases(s, 2 if args.pairwise else 1)[:args.max or None]
        if args.variant:
            variants = [parse_variant(args.variant, variants[0])]
        todo += [(s, v) for v in variants]
    if args.list:
        for s, v in todo:
            print(case_name(s.name, v))
        return 0
    if args.out is None:
        ap.error("-o/--out is required")
    args.out.mkdir(parents=True, exist_ok=True)
    for s, v in todo:
        print(render_case(s, v, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
