"""Which files of a VM a collector takes and under which names, and how the result is packed.

Linux layouts (linux-formats §1): ``collect`` (``waagent -collect-logs``: ``logs.zip`` with absolute paths
minus the leading ``/``, ``results.txt`` at the root, history zips inside), ``manual`` (the seed's
tarball: ``/var/lib/waagent/*.xml``, ``/var/log/waagent.log``, ``/var/log/azure/*`` under an arbitrary
root, plus what support asked for), ``sosreport`` (``sosreport-<host>-<date>/`` with ``sos_commands/``,
no ``/var/lib/waagent``), ``diskinspect`` (Azure Inspect IaaS Disk: logs, ``/var/lib/waagent`` state and
leases), ``flat`` (loose files a customer attached). Windows layouts (windows-formats §1.2): ``guest``
(``C:\\WindowsAzure``, ``C:\\Packages\\Plugins``, ``winevt\\Logs``), ``tss`` (``<HOST>_evt_<Log>.<ext>``
exports beside the agent logs) and ``flat`` (pasted exports and command output).
Archive kinds: ``targz``, ``tarxz``, ``zip``, ``7z``, ``nested`` (a zip holding a tar.gz), ``folder``.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from datetime import timedelta
from pathlib import Path

from tests.scenarios.vm import VM

Members = dict[str, "bytes | tuple[str, str]"]

LINUX_LAYOUTS = ("collect", "manual", "sosreport", "diskinspect", "flat")
WINDOWS_LAYOUTS = ("guest", "tss", "flat")
ARCHIVES = ("targz", "tarxz", "zip", "7z", "nested", "folder")
SUFFIX = {"targz": ".tar.gz", "tarxz": ".tar.xz", "zip": ".zip", "7z": ".7z", "nested": ".zip", "folder": ""}


def _rel(path: str) -> str:
    return path.lstrip("/")


def _is_state(path: str) -> bool:
    return path.startswith("/var/lib/waagent/")


def _is_lease(path: str) -> bool:
    return path.startswith(("/var/lib/dhc", "/var/lib/NetworkManager/", "/run/systemd/netif/"))


def linux_members(vm: VM, files: Members, layout: str, needs: set[str]) -> Members:
    rng = vm.rng
    out: Members = {}
    if layout == "collect":
        for path, data in files.items():
            if path.startswith("/cmd/") or path in ("/journal", "/etc/timezone", "/etc/localtime",
                                                      "/etc/sysconfig/clock"):
                continue
            if _is_lease(path) and "leases" not in needs:
                continue
            out[_rel(path)] = data
        out["results.txt"] = _results_txt(vm, files)
        if "journal" in files:
            pass
        return out
    if layout == "sosreport":
        root = f"sosreport-{vm.host}-{vm.collected:%Y-%m-%d}-{rng.choice(['abcdefg', 'xkqpzta', 'mvlrtue'])}/"
        for path, data in files.items():
            if _is_state(path) or (_is_lease(path) and not path.startswith("/var/lib/NetworkManager/")):
                continue
            if path == "/journal":
                out[root + "sos_commands/logs/journalctl_--no-pager"] = data
            elif path.startswith("/cmd/"):
                name = path[5:]
                folder = "systemd" if name == "timedatectl" else "date"
                out[root + f"sos_commands/{folder}/{name}"] = data
            else:
                out[root + _rel(path)] = data
        out[root + "sos_commands/azure/instance_metadata.json"] = (
            '{"compute": {"name": "' + vm.host + '", "vmId": "' + vm.guid() + '", "location": "westeurope", '
            '"osType": "Linux", "vmSize": "Standard_D2s_v3", "resourceGroupName": "rg-backup"}}').encode()
        out[root + "version.txt"] = b"sosreport: 4.5.6\n"
        return out
    if layout == "diskinspect":
        root = f"{vm.host}_osdisk/"
        for path, data in files.items():
            if path.startswith("/cmd/") or path == "/journal":
                continue
            out[root + _rel(path)] = data
        return out
    if layout == "manual":
        root = rng.choice(["", "./", f"{vm.host}/", "logs/"])
        for path, data in files.items():
            keep = (path.startswith("/var/log/waagent") or path.startswith("/var/log/azure/")
                    or (path.startswith("/var/lib/waagent/") and path.count("/") == 4 and path.endswith(".xml"))
                    or path in ("/etc/timezone", "/etc/localtime", "/etc/sysconfig/clock"))
            keep = keep or ("conf" in needs and path == "/etc/waagent.conf")
            # the agent's records are in syslog on this VM (agentlog=syslog): whoever packs its logs takes that file,
            # as they take the journal export; without it the bundle holds no agent record at all
            keep = keep or (("syslog" in needs or vm.variant.agentlog == "syslog")
                            and path.startswith(("/var/log/syslog", "/var/log/messages", "/var/log/kern")))
            keep = keep or ("leases" in needs and _is_lease(path))
            keep = keep or ("status" in needs and _is_state(path) and "/status/" in path)
            keep = keep or path in ("/journal", "/etc/os-release")
            if path == "/journal":
                out[root + "journalctl.txt"] = data
            elif path.startswith("/cmd/"):
                out[root + path[5:] + ".txt"] = data
            elif keep:
                out[root + _rel(path)] = data
        return out
    if layout == "flat":
        for path, data in files.items():
            base = path.rsplit("/", 1)[-1]
            if path == "/journal":
                base = "journalctl.txt"
            elif path.startswith("/cmd/"):
                base = base + ".txt"
            elif (path == "/etc/localtime" or path.startswith("/var/lib/waagent/history/")
                  or (_is_lease(path) and "leases" not in needs) or (_is_state(path) and "status" not in needs)):
                continue
            if base in out:
                continue
            out[base] = data
        return out
    raise ValueError(layout)


def _results_txt(vm: VM, files: Members) -> bytes:
    t = vm.collected
    lines = [f"{t:%Y-%m-%dT%H:%M:%SZ} INFO Starting log collection..."]
    listing = sorted({p.split("/")[4] + "/" for p in files if p.startswith("/var/lib/waagent/") and p.count("/") > 4})
    lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ} INFO Output of command [ls -alF /var/lib/waagent]:")
    lines += [f"drwxr-xr-x  4 root root  4096 {t:%b %d %H:%M} {d}" for d in listing]
    for p, data in sorted(files.items()):
        if isinstance(data, bytes) and not p.startswith("/cmd/") and p != "/journal":
            lines.append(f"{t + timedelta(seconds=1):%Y-%m-%dT%H:%M:%SZ} INFO Adding file {p}, size {len(data)} b")
    lines.append(f"{t + timedelta(seconds=2):%Y-%m-%dT%H:%M:%SZ} INFO Finished log collection successfully.")
    return ("\n".join(lines) + "\n").encode()


# --- packing ----------------------------------------------------------------------------------------

def _tar(members: Members, mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.mtime = 1_717_977_600
            if isinstance(data, tuple):
                info.type = tarfile.SYMTYPE
                info.linkname = data[1]
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: Members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(members.items()):
            content = (data[1] + "\n").encode() if isinstance(data, tuple) else data
            z.writestr(zipfile.ZipInfo(name, (2024, 6, 10, 0, 0, 0)), content)
    return buf.getvalue()


def pack(members: Members, archive: str, dest: Path, inner_name: str = "logs") -> Path:
    """Write ``members`` as ``dest`` + suffix of ``archive``; returns the path written."""
    out = dest.with_name(dest.name + SUFFIX[archive])
    if archive == "folder":
        out.mkdir(parents=True)
        for name, data in members.items():
            p = out / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, tuple):
                os.symlink(data[1], p)
            else:
                p.write_bytes(data)
        return out
    if archive == "targz":
        out.write_bytes(_tar(members, "w:gz"))
    elif archive == "tarxz":
        out.write_bytes(_tar(members, "w:xz"))
    elif archive == "zip":
        out.write_bytes(_zip(members))
    elif archive == "nested":
        out.write_bytes(_zip({f"{inner_name}.tar.gz": _tar(members, "w:gz")}))
    elif archive == "7z":
        import py7zr

        with py7zr.SevenZipFile(out, "w") as z:
            for name, data in sorted(members.items()):
                content = (data[1] + "\n").encode() if isinstance(data, tuple) else data
                z.writestr(content, name)
    else:
        raise ValueError(archive)
    return out
