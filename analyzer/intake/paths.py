"""Member path normalization and the safety check on archive member names.

Bundles name the same file many ways: ``./var/log/waagent.log``, ``/var/log/waagent.log``,
``C:\\WindowsAzure\\Logs\\WaAppAgent.log``, ``C/WindowsAzure/...`` and the agent collector's
flattened ``truncated__var_log_syslog.1`` (``truncated_`` + the path with ``/`` turned into ``_``,
stored at the archive root). Everything is turned into a relative POSIX path; ``None`` means the path
is refused (it climbs out with ``..``, holds a NUL, or is empty).

Archives are stricter than folders: :func:`refusal` rejects absolute (``/``-rooted) and ``..`` member
names outright (an archive has no business naming files outside itself), while a folder input only
normalizes the relative names its own walk produced. A drive letter (``C:\\WindowsAzure\\Logs\\...``, as
Windows collectors write their zips) is dropped and the rest read as a relative name: members are never
written to disk under their names, so the drive names no place on this machine; ``..`` after it is still
refused.
"""

from __future__ import annotations

import re

from parsers.base import Message, say

_DRIVE = re.compile(r"^[A-Za-z]:[\\/]*")  # C:, C:\, C:/
# "C/Windows/...", "C/WindowsAzure/..." as some Windows collectors write the system drive.
_DRIVE_DIR = re.compile(r"^[A-Za-z]/(?=(windows|windowsazure|packages|program ?files[^/]*|programdata)(/|$))", re.I)
_TRUNCATED = re.compile(r"^truncated__(.+)$")
_VERSION = re.compile(r"^\d+(\.\d+)+$")
_TRUNCATED_ROOTS = ("var_log_azure_", "var_lib_waagent_", "var_log_", "etc_")


def normalize_path(name: str) -> str | None:
    """A safe relative POSIX path for an archive or folder member, or ``None`` when refused."""
    if "\x00" in name:
        return None
    p = drop_drive(name.replace("\\", "/").strip())
    parts: list[str] = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            return None
        parts.append(part)
    if not parts:
        return None
    p = _DRIVE_DIR.sub("", "/".join(parts))
    head, _, base = p.rpartition("/")
    flat = _TRUNCATED.match(base)
    rest = _unflatten(flat.group(1)) if flat else None
    if rest:
        p = f"{head}/{rest}" if head else rest
    return p


def _unflatten(flat: str) -> str | None:
    """``var_log_azure_<ext>[_<version>]_<file>`` and the other collector roots back to a path.

    Directory names under ``var/log/azure`` are extension names (no ``_``) and version numbers; the rest
    is the file name, whose own underscores are kept. ``None`` for an unknown root (the name is kept).
    """
    for root in _TRUNCATED_ROOTS:
        if not flat.startswith(root):
            continue
        rest = flat[len(root):]
        out = root.rstrip("_").replace("_", "/")
        if root == "var_log_azure_" and "_" in rest:
            ext, _, rest = rest.partition("_")
            out += "/" + ext
            version, sep, tail = rest.partition("_")
            if sep and _VERSION.match(version):
                out += "/" + version
                rest = tail
        return f"{out}/{rest}" if rest else None
    return None


def drop_drive(name: str) -> str:
    """``name`` without a leading drive letter and the separators after it (``C:\\``): a relative name."""
    return _DRIVE.sub("", name)


def refusal(name: str, max_name: int) -> Message | None:
    """Why an archive member name is refused, or ``None`` when it may be read."""
    if "\x00" in name:
        return say("intake.name_nul")
    if len(name) > max_name:
        return say("intake.name_too_long", limit=max_name)
    n = name.replace("\\", "/")
    if n.startswith("/"):
        return say("intake.name_absolute")
    n = drop_drive(n)  # C:\WindowsAzure\... is read as WindowsAzure/... (the module's docstring says why)
    if ".." in n.split("/"):
        return say("intake.name_climbs")
    if normalize_path(name) is None:
        return say("intake.name_empty")
    return None
