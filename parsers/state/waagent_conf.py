"""``/etc/waagent.conf``, read by the agent's own rules (``azurelinuxagent/common/conf.py``).

A line that is not a ``#`` comment and holds ``=`` is ``key=value``; the value ends at the first ``#``
and loses surrounding quotes and blanks; the literal ``None`` means unset. Example::

    # Enable extension handling. Do not disable this unless you do not need password reset,
    Extensions.Enabled=y

Each key becomes a ``conf.<Key>`` fact (switches as ``y``/``n`` when written so in any case);
``HttpProxy.Host``/``HttpProxy.Port`` also give a ``proxy`` fact. Credentials in a proxy value
(``user:pass@``) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines

_USERINFO = re.compile(r"(?<=//)[^/@\s]*@|^[^/@\s:]*:[^/@\s]*@")
_KEY = re.compile(r"[A-Za-z][\w.\-]*")


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    proxy: dict[str, str | int | None] = {}
    proxy_line = None
    junk: list[int] = []
    for n, raw in iter_lines(stream, ctx):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            junk.append(n)
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        value = value.split("#", 1)[0].strip("\" '\t")
        if not _KEY.fullmatch(key):
            junk.append(n)
            continue
        if value == "None":
            continue
        if key.startswith("HttpProxy."):
            value = _USERINFO.sub("", value)
        if value.lower() in ("y", "n"):
            value = value.lower()
        ctx.fact(f"conf.{key}", value, line=n, text=f"{key}={value}")
        if key == "HttpProxy.Host":
            proxy["host"], proxy_line = value, n
        elif key == "HttpProxy.Port":
            proxy["port"] = int(value) if value.isdigit() else value
    if proxy.get("host"):
        ctx.fact("proxy", {"host": proxy["host"], "port": proxy.get("port"), "source": "waagent.conf"}, line=proxy_line)
    if junk:
        ctx.problem("problem.conf_bad_lines", junk[0], n=len(junk), first=junk[0])
    yield from ()  # configuration carries no timed records


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return "Microsoft Azure Linux Agent Configuration" in text or (
        "Extensions.Enabled=" in text and "Provisioning." in text)


PARSER = Parser(name="waagent_conf", parse=parse, sniff=sniff, description="/etc/waagent.conf")
