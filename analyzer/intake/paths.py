"""Member path normalization.

Bundles name the same file many ways: ``./var/log/waagent.log``, ``/var/log/waagent.log``,
``C:\\WindowsAzure\\Logs\\WaAppAgent.log``, ``C/WindowsAzure/...`` and the agent collector's
flattened ``truncated__var_log_syslog.1``. Everything is turned into a relative POSIX path.
``None`` means the path is refused (it climbs out with ``..`` or is empty).
"""

from __future__ import annotations

import re

_DRIVE = re.compile(r"^[A-Za-z]:(?=/|$)")
_DRIVE_DIR = re.compile(r"^[A-Za-z](?=/(windows|windowsazure|packages|program ?files|programdata)/)", re.I)
# truncated__var_log_syslog.1 -> var/log/syslog.1; only the known roots are unflattened.
_TRUNCATED = re.compile(r"^truncated__(var_log|var_lib_waagent|etc)_(.+)$")
_TRUNCATED_ROOTS = {"var_log": "var/log", "var_lib_waagent": "var/lib/waagent", "etc": "etc"}


def normalize_path(name: str) -> str | None:
    """A safe relative POSIX path for an archive or folder member, or ``None`` when refused."""
    p = name.replace("\\", "/").strip()
    p = _DRIVE.sub("", p)
    parts: list[str] = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            return None
        parts.append(part)
    if not parts:
        return None
    p = "/".join(parts)
    p = _DRIVE_DIR.sub("", p).lstrip("/")
    base = parts[-1]
    m = _TRUNCATED.match(base)
    if m:
        head = "/".join(parts[:-1])
        rest = _TRUNCATED_ROOTS[m.group(1)] + "/" + m.group(2)
        # var/log/azure/<ext>/x arrives as var_log_azure_<ext>_x: the file name is ambiguous,
        # so only the first flattened level is restored.
        p = f"{head}/{rest}" if head else rest
    return p or None


def is_escaping(name: str) -> bool:
    """True for absolute or ``..`` names: refused in archives (a folder input only normalizes them)."""
    n = name.replace("\\", "/")
    return n.startswith("/") or bool(_DRIVE.match(n)) or ".." in n.split("/")
