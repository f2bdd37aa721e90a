"""Write a :class:`LinuxVM` out as the files of the VM: agent log generations, clocks, copies, rotations.

Output: VM path -> bytes (plus links). ``layouts.py`` then decides which of them a collector takes.
"""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime, timedelta

from tests.scenarios.linux import DISTROS, EXT, EXT_LOG_DIR, EXT_LOG_PREFIX, LinuxVM, Rec, generation
from tests.scenarios.zones import date_output, timedatectl, tzif

Link = tuple[str, str]  # ("link", target)


def record_lines(rec: Rec, gen: str, vm: LinuxVM) -> list[str]:
    """One agent record in the layout of its writer's generation (linux-formats §2.2, §2.3)."""
    lines = rec.msg.split("\n")
    first, rest = lines[0], lines[1:]
    ext_prefix = ""
    if rec.writer == "ext" and first.startswith("["):
        ext_prefix, _, first = first.partition("] ")
        ext_prefix += "]"
    if gen == "G0":
        stamp = vm.zone.local(rec.t).strftime("%Y/%m/%d %H:%M:%S")
        lvl = {"WARNING": "WARNING:", "ERROR": "ERROR:"}.get(rec.level, "")
        return [f"{stamp} {lvl}{ext_prefix}{line}" for line in [first, *rest]]
    if gen in ("G1", "G2"):
        stamp = vm.zone.local(rec.t).strftime("%Y/%m/%d %H:%M:%S.%f")
    else:
        stamp = rec.t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if rec.writer == "ext":
        prefix = ext_prefix
    elif gen == "G1":
        prefix = ""
    else:
        prefix = "Daemon" if rec.writer == "daemon" else "ExtHandler"
    if gen == "G4":
        head = f"{stamp} {rec.level} {rec.thread} {prefix} {first}"
    elif prefix:
        head = f"{stamp} {rec.level} {prefix} {first}"
    else:
        head = f"{stamp} {rec.level} {first}"
    return [head, *rest]


def _gen(vm: LinuxVM, rec: Rec) -> str:
    return generation(vm.daemon if rec.writer == "daemon" else vm.handler)


def agent_lines(vm: LinuxVM, recs: list[Rec]) -> list[tuple[Rec, list[str]]]:
    return [(r, record_lines(r, _gen(vm, r), vm)) for r in sorted(recs, key=lambda r: r.t)]


def old_g0_records(vm: LinuxVM) -> list[Rec]:
    """The log of the 2.0.18 agent the VM ran before its package was upgraded (the G0 variant)."""
    start = vm.t0 - timedelta(days=20, hours=vm.rng.randint(0, 10))
    recs = [Rec(start, "INFO", "Azure Linux Agent Version: WALinuxAgent-2.0.18", "daemon"),
            Rec(start + timedelta(seconds=1), "INFO", "Discovered Windows Azure endpoint: 168.63.129.16", "daemon"),
            Rec(start + timedelta(seconds=1), "INFO", f"ContainerId: {vm.guid()}", "daemon")]
    for day in range(1, 5):
        recs.append(Rec(start + timedelta(days=day, minutes=vm.rng.randint(0, 600)), "INFO",
                        "Handle extensions", "daemon"))
    return recs


def _syslog_head(vm: LinuxVM, t: datetime, proc: str) -> str:
    loc = vm.zone.local(t)
    return f"{loc:%b} {loc.day:2d} {loc:%H:%M:%S} {vm.host} {proc}: "


def _journal_head(vm: LinuxVM, t: datetime, proc: str) -> str:
    loc = vm.zone.local(t)
    off = vm.zone.offset(t)
    sign = "+" if off >= timedelta(0) else "-"
    m = abs(int(off.total_seconds() // 60))
    return f"{loc:%Y-%m-%dT%H:%M:%S}{sign}{m // 60:02d}{m % 60:02d} {vm.host} {proc}: "


def system_lines(vm: LinuxVM, recs: list[tuple[Rec, list[str]]], journal: bool) -> list[str]:
    """syslog/messages (or a ``journalctl -o short-iso`` export): the agent's stdout copies, kernel and
    systemd lines, in the VM's local time (linux-formats §1.2 e)."""
    head = _journal_head if journal else _syslog_head
    out: list[tuple[datetime, str]] = []
    for rec, lines in recs:
        proc = f"python3[{vm.pid['daemon' if rec.writer == 'daemon' else 'handler']}]"
        out += [(rec.t, head(vm, rec.t, proc) + line) for line in lines]
    for t, proc, msg in vm.kernel:
        out.append((t, head(vm, t, proc) + msg))
    t = vm.earliest - timedelta(minutes=5)
    while t < vm.collected:  # routine system traffic
        out.append((t, head(vm, t, f"CRON[{vm.rng.randint(2000, 60000)}]") +
                    "(root) CMD (test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.hourly ))"))
        t += timedelta(hours=2)
    out.sort(key=lambda x: x[0])
    return [line for _, line in out]


def extension_log(vm: LinuxVM) -> list[str]:
    """extension.log in the Python 3 (UTC) or Python 2 (local, every line stamped) form (§2.7)."""
    py2 = vm.variant.extlog == "py2"
    out: list[str] = []

    def record(t: datetime, msg: str) -> None:
        lines = msg.split("\n")
        if py2:
            stamp = vm.zone.local(t).strftime("%Y/%m/%d %H:%M:%S")
            out.append(f"{stamp} {EXT_LOG_PREFIX}{lines[0]}")
            out.extend(f"{stamp} {line}" for line in lines[1:])
        else:
            out.append(f"{t.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f} {EXT_LOG_PREFIX}{lines[0]}")
            out.extend(lines[1:])

    for rec in sorted(vm.ext, key=lambda r: r.t):
        if rec.buffered:
            fmt = "%Y-%m-%d %H:%M:%S.%f" if py2 else "%Y/%m/%d %H:%M:%S.%f"
            body = [rec.msg] + [f"{bt.astimezone(UTC).strftime(fmt)}  {lvl}  {m} " for bt, lvl, m in rec.buffered]
            body.append("================== Logs during Freeze End ==============")
            record(rec.t, "\n".join(body))
        else:
            record(rec.t, rec.msg)
        if rec.binary:
            t = rec.t + timedelta(milliseconds=5)
            record(t, "============== Binary output traces start ================= ")
            for bt, text in rec.binary:
                record(t, f"{vm.zone.local(bt):%Y-%m-%d %H:%M:%S} {text}")
            record(t, "============== Binary output traces end ================= ")
    return out


def shell_log(vm: LinuxVM) -> list[str]:
    def stamp(t: datetime) -> str:
        u = t.astimezone(UTC)
        return f"{u:%a %b} {u.day:2d} {u:%H:%M:%S} UTC {u:%Y}"

    return [f"{stamp(t)}- {msg}" for t, msg in sorted(vm.shell)]


def _split(items: list, parts: int, rng) -> list[list]:  # type: ignore[type-arg]
    if len(items) < parts * 2:
        return [items[:len(items) // 2], items[len(items) // 2:]][-parts:] if parts > 1 else [items]
    cuts = sorted(rng.sample(range(1, len(items)), parts - 1))
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds)]


def rotated(name: str, lines: list[str], rotation: str, vm: LinuxVM, when: list[datetime]) -> dict[str, bytes]:
    """The file and its rotations (linux-formats §2.6): ``.1`` + ``.2.gz``, dateext ``-YYYY-MM-DD-<epoch>.gz``,
    or a freshly truncated current file with everything in ``.1``."""
    text = lambda ls: ("\n".join(ls) + "\n").encode() if ls else b""  # noqa: E731
    if rotation == "none" or not lines:
        return {name: text(lines)}
    if rotation == "fresh":
        return {name: b"", f"{name}.1": text(lines)}
    old, mid, new = _split(list(range(len(lines))), 3, vm.rng) if len(lines) >= 6 else ([], [], list(range(len(lines))))
    pick = lambda idx: [lines[i] for i in idx]  # noqa: E731
    out = {name: text(pick(new))}
    if rotation == "numbered":
        out[f"{name}.1"] = text(pick(mid))
        if old:
            out[f"{name}.2.gz"] = gzip.compress(text(pick(old)), mtime=0)
    else:  # dateext
        for idx in (old, mid):
            if idx:
                t = when[idx[-1]] + timedelta(minutes=1)
                out[f"{name}-{t:%Y-%m-%d}-{int(t.timestamp())}.gz"] = gzip.compress(text(pick(idx)), mtime=0)
    return out


def render(vm: LinuxVM) -> dict[str, bytes | Link]:
    """VM path -> content for every file the VM holds."""
    v = vm.variant
    vm.status_files()
    vm.config_files()
    vm.wire_files()
    files: dict[str, bytes | Link] = {}
    for path, content in vm.files.items():
        files[path] = content.encode() if isinstance(content, str) else content
    recs = agent_lines(vm, vm.records)
    flat = [line for _, lines in recs for line in lines]
    when = [r.t for r, lines in recs for _ in lines]
    if v.agentlog == "file":
        files.update({f"/var/log/{k}": b for k, b in rotated("waagent.log", flat, v.rotation, vm, when).items()})
        if vm.old_g0_log:
            old = agent_lines(vm, old_g0_records(vm))
            g0 = [record_lines(r, "G0", vm) for r, _ in old]
            files["/var/log/waagent.log.4"] = ("\n".join(ln for ls in g0 for ln in ls) + "\n").encode()
    ext_recs = [(r, lines) for r, lines in recs if r.writer == "ext" and EXT in r.msg]
    if ext_recs:
        lines = [ln for _, ls in ext_recs for ln in ls]
        files[f"{EXT_LOG_DIR}/CommandExecution.log"] = ("\n".join(lines) + "\n").encode()
    sysname = DISTROS[vm.distro][4]
    sys_lines = system_lines(vm, recs, journal=False)
    files.update({f"/var/log/{k}": b for k, b in rotated(sysname, sys_lines, "none", vm, []).items()})
    if vm.kernel and sysname == "syslog":
        kern = [ln for ln in sys_lines if " kernel: " in ln]
        files["/var/log/kern.log"] = ("\n".join(kern) + "\n").encode()
    if v.agentlog == "journal":
        files["/journal"] = ("\n".join(system_lines(vm, recs, journal=True)) + "\n").encode()
    if vm.ext:
        files[f"{EXT_LOG_DIR}/extension.log"] = ("\n".join(extension_log(vm)) + "\n").encode()
    if vm.shell:
        files[f"{EXT_LOG_DIR}/shell.log"] = ("\n".join(shell_log(vm)) + "\n").encode()
    _reveal(vm, files)
    _encode(vm, files)
    return files


def _reveal(vm: LinuxVM, files: dict[str, bytes | Link]) -> None:
    z, r, t = vm.zone, vm.variant.reveal, vm.collected
    if r == "etc_timezone":
        files["/etc/timezone"] = f"{z.iana}\n".encode()
    elif r == "tzif":
        files["/etc/localtime"] = tzif(z)
    elif r == "localtime_link":
        files["/etc/localtime"] = ("link", f"../usr/share/zoneinfo/{z.iana}")
    elif r == "localtime_text":
        files["/etc/localtime"] = f"/usr/share/zoneinfo/{z.iana}\n".encode()
    elif r == "sysconfig_clock":
        files["/etc/sysconfig/clock"] = f'ZONE="{z.iana}"\nUTC=true\n'.encode()
    elif r == "timedatectl":
        files["/cmd/timedatectl"] = timedatectl(z, t).encode()
    elif r == "date":
        files["/cmd/date"] = date_output(z, t, utc=False).encode()
        files["/cmd/date_--utc"] = date_output(z, t, utc=True).encode()


_LOGS = ("waagent.log", "extension.log", "shell.log", "commandexecution.log", "syslog", "messages", "kern.log",
         "/journal")


def _encode(vm: LinuxVM, files: dict[str, bytes | Link]) -> None:
    """CRLF or UTF-16LE (a log saved through Windows tools) for the text logs of the bundle."""
    enc = vm.variant.encoding
    if enc == "utf8":
        return
    for path, data in list(files.items()):
        base = path.rsplit("/", 1)[-1].lower()
        if isinstance(data, tuple) or base.endswith(".gz") or not any(base.startswith(n.strip("/")) for n in _LOGS):
            continue
        text = data.decode("utf-8").replace("\n", "\r\n")
        files[path] = text.encode("utf-8") if enc == "crlf" else b"\xff\xfe" + text.encode("utf-16-le")
