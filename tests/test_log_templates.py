"""Template mining (analyzer.log_templates): values masked, one template per message shape whatever its values,
different messages apart, bounded memory, and the counts kept for records beyond the timeline's cap."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from analyzer.log_templates import MAX_TOKENS, WILDCARD, TemplateCounts, TemplateMiner, mask, tokens
from parsers.base import Event

RNG = random.Random(13)


def _guid() -> str:
    return str(uuid.UUID(int=RNG.getrandbits(128)))


def _ip() -> str:
    return ".".join(str(RNG.randint(1, 254)) for _ in range(4))


def _version() -> str:
    return ".".join(str(RNG.randint(0, 9999)) for _ in range(RNG.choice((2, 3, 4))))


def _hex() -> str:
    return "0x" + "".join(RNG.choice("0123456789ABCDEF") for _ in range(8))


def _unix_path() -> str:
    parts = ("var", "lib", "waagent", "log", "azure", "etc")
    return "/" + "/".join(RNG.choice(parts) for _ in range(RNG.randint(2, 5)))


def _win_path() -> str:
    return "C:\\" + "\\".join(RNG.choice(("Packages", "Plugins", "WindowsAzure", "Logs", "1.0.92.0", "Status"))
                              for _ in range(RNG.randint(2, 5)))


#: message shapes of the real formats (linux-formats.md, windows-formats.md), with their values generated
SHAPES: dict[str, tuple[str, object]] = {
    "exit code": ("Event: name=Microsoft.Azure.Extensions.CustomScript, op=Install, message=[ExtensionError] "
                  "Non-zero exit code: {n}, bin/custom-script-shim install, duration={m}",
                  "Event: name=Microsoft.Azure.Extensions.CustomScript, op=Install, message=[ExtensionError] "
                  "Non-zero exit code: <num>, bin/custom-script-shim install, duration=<num>"),
    "goal state file": ("Exception retrieving extension handlers: [ProtocolError] {unix}/GoalState.{n}.xml is missing.",
                        "Exception retrieving extension handlers: [ProtocolError] <path> is missing."),
    "status file": ("Status file {win}\\{n}.status is not available for the Extension '' yet.",
                    "Status file <path> is not available for the Extension '' yet."),
    "activity": ("ProcessExtensionsGoalState failed [incarnation {n} activity: {guid} correlation {guid2}]",
                 "ProcessExtensionsGoalState failed [incarnation <num> activity: <guid> correlation <guid>]"),
    "socket": ("An attempt was made to access a socket in a way forbidden by its access permissions {ip}:{port}",
               "An attempt was made to access a socket in a way forbidden by its access permissions <ip>"),
    "agent version": ("Agent WALinuxAgent-{version} launched with command 'python3 -u {unix} -run-exthandlers' "
                      "returned code: {n}",
                      "Agent WALinuxAgent-<version> launched with command <quoted> returned code: <num>"),
    "hresult": ("RdCrypt Initialization failed. Error Code: {hex}.",
                "RdCrypt Initialization failed. Error Code: <hex>."),
    "timeout": ("Timeout({n}): {unix} enable took {m}ms at {ts}", "Timeout(<num>): <path> enable took <num> at <time>"),
}


def _render(shape: str) -> str:
    return shape.format(n=RNG.randint(0, 99999), m=RNG.randint(0, 10**9), unix=_unix_path(), win=_win_path(),
                        guid=_guid(), guid2=_guid(), ip=_ip(), port=RNG.randint(1, 65535), version=_version(),
                        hex=_hex(), ts=(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=RNG.randint(0, 10**8)))
                        .strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_one_shape_with_any_values_is_one_template(name: str) -> None:
    shape, expected = SHAPES[name]
    miner = TemplateMiner()
    found = {miner.add(_render(shape)).id for _ in range(200)}
    assert len(found) == 1
    assert miner.templates[0].text == expected
    assert miner.templates[0].size == 200


def test_different_messages_stay_apart_whatever_the_order() -> None:
    lines = [_render(shape) for shape, _ in SHAPES.values() for _ in range(30)]
    RNG.shuffle(lines)
    miner = TemplateMiner()
    by_template: dict[int, set[str]] = {}
    for line in lines:
        by_template.setdefault(miner.add(line).id, set()).add(next(k for k, (s, _) in SHAPES.items()
                                                                   if mask(line) == mask(_render(s))))
    assert len(by_template) == len(SHAPES)
    assert all(len(shapes) == 1 for shapes in by_template.values())
    assert sorted(t.text for t in miner.templates) == sorted(expected for _, expected in SHAPES.values())


def test_a_word_that_varies_becomes_a_wildcard_but_other_verbs_do_not_merge() -> None:
    miner = TemplateMiner()
    a = miner.add("Exception retrieving extension handlers: (000008)(000009)HTTP GET failed")
    b = miner.add("Exception retrieving agent manifests: (000008)(000009)HTTP GET failed")
    assert a is b and a.text == f"Exception retrieving {WILDCARD} {WILDCARD} (<num>)(<num>)HTTP GET failed"
    start, stop = miner.add("Failed to start service"), miner.add("Failed to stop agent")
    assert start is not stop


@pytest.mark.parametrize(("text", "masked"), [
    ("GET http://168.63.129.16/machine/?comp=goalstate failed", "GET <url> failed"),
    ("at 2024-06-10T02:00:28.402113Z and 06/20/2019 07:44:28.93 or 12:00:01", "at <time> and <time> <time> or <time>"),
    ("id {5f6e4d3c-2b1a-4f9e-8d7c-6b5a4f3e2d1c}", "id {<guid>}"),
    (r"under C:\Packages\Plugins\x.status and /var/lib/waagent/x.xml", "under <path> and <path>"),
    ("endpoint 10.0.0.4:32526 fe80::1:2:3:4", "endpoint <ip> <ip>"),
    ("VMSnapshotLinux-1.0.9220.0 v2.7", "VMSnapshotLinux-<version> <version>"),
    ("hr = 0x8004230F etag 5a3f9b2c7d1e", "hr = <hex> etag <hex>"),
    ("open 'my file' and \"other\" but can't stop", "open <quoted> and <quoted> but can't stop"),
    ("took 250ms, 3 times, GoalState.11.xml, etag_1234", "took <num>, <num> times, GoalState.<num>.xml, etag_<num>"),
])
def test_masks(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_only_the_first_line_is_templated_and_it_is_cut() -> None:
    assert tokens("\n  Traceback (most recent call last):\n  File \"x.py\", line 3") == \
        ["Traceback", "(most", "recent", "call", "last):"]
    assert len(tokens("word " * 10_000)) == MAX_TOKENS


def test_memory_is_bounded_by_the_template_limit() -> None:
    miner = TemplateMiner(max_templates=50)
    words = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "theta"]
    for i in range(20_000):
        n = 3 + i % 9
        miner.add(" ".join(RNG.choice(words) + RNG.choice(words) for _ in range(n)))
    assert len(miner.templates) <= 51  # the limit, and the catch-all
    assert sum(t.size for t in miner.templates) == 20_000


def _event(minutes: int, message: str, level: str = "warning", local: bool = False, **attrs: object) -> Event:
    ts = datetime(2024, 6, 10, 2, 0) + timedelta(minutes=minutes)
    return Event(ts if local else ts.replace(tzinfo=UTC), "waagent_log", "var/log/waagent.log", minutes + 1, level,
                 "", "log", message, dict(attrs), local)


def test_counts_keep_count_times_example_and_level_not_the_records() -> None:
    counts = TemplateCounts()
    for m in range(100):
        counts.add(_event(m, f"Fetch failed with code {m}", level="error" if m == 50 else "warning"))
    counts.add(_event(200, "Fetch failed with code 7", via="syslog"))  # a syslog copy of an agent record
    (c,) = list(counts)
    assert (c.records, c.copies, c.level) == (100, 1, "error")
    assert c.template.text == "Fetch failed with code <num>"
    assert c.example == "Fetch failed with code 7" and c.line == 201  # the newest record
    counts.resolve(lambda wall, local: (wall - timedelta(hours=2) if local else wall).replace(tzinfo=UTC))
    assert c.first == datetime(2024, 6, 10, 2, 0, tzinfo=UTC)


def test_local_times_are_converted_once() -> None:
    counts = TemplateCounts()
    counts.add(_event(0, "Fetch failed with code 1", local=True))
    counts.resolve(lambda wall, local: (wall - timedelta(hours=2) if local else wall).replace(tzinfo=UTC))
    (c,) = list(counts)
    assert c.first == c.last == datetime(2024, 6, 10, 0, 0, tzinfo=UTC)


def test_counts_are_bounded_too() -> None:
    counts = TemplateCounts(max_templates=5)
    for i in range(40):
        counts.add(_event(i, " ".join(["word" + chr(97 + i % 26)] * (1 + i))))
    assert len(counts) == 5 and counts.other == 35
