"""The shapes a log takes on its way into a ticket, for generated test inputs: coloured by a terminal tool, quoted
in an e-mail reply.

``colour(text)`` wraps what ``grep --color=always -iE PATTERN`` highlights in ``ESC[01;31mESC[K ... ESC[mESC[K``
and adds the other escape sequences a terminal copy carries (a bold level word as ``journalctl``/``less -R`` show
it, a window title, a hyperlink); ``quoted(text, mark)`` is the body of an Outlook-style reply, every line after
the header behind ``mark`` (``> ``, ``>> ``, ``> > `` or ``>`` glued to the text), an empty line a lone ``>``;
``indented(text, margin)`` is a log pasted as a Markdown code block (four spaces) or indented by a tab or two spaces,
every line holding text behind ``margin``, perhaps after a note or inside an e-mail reply.
``SHAPES`` maps a name to a function of the text; a shape keeps the line ends of the text it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# what an engineer greps for in an agent log; case-insensitive as grep -i
PATTERN = re.compile(r"error|fail\w*|dhcp|route|endpoint|goal ?state|status|snapshot|vss|enable|heartbeat|"
                     r"exception|timed? ?out|warn\w*", re.IGNORECASE)
MATCH = "\x1b[01;31m\x1b[K{}\x1b[m\x1b[K"
TITLE = "\x1b]0;azureuser@vm1: ~\x07"  # the window title a terminal copy may carry (OSC ... BEL)
LINK = "\x1b]8;;file:///var/log/waagent.log\x1b\\{}\x1b]8;;\x1b\\"  # a hyperlink (OSC 8 ... ST)
REPLY_HEAD = ("Hello,", "", "here is the output you asked for.", "", "-----Original Message-----",
              "From: Azure Support", "Sent: Monday, June 10, 2024 8:55 AM", "Subject: RE: VM backup fails", "")


def colour(text: str) -> str:
    """``text`` as a coloured terminal copy: grep's match colouring, a bold first word on every fifth line, a
    window title on the first line and a hyperlink around the first path."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        end = "\r" if line.endswith("\r") else ""
        body = PATTERN.sub(lambda m: MATCH.format(m.group(0)), line[:len(line) - len(end)])
        if i % 5 == 4 and " " in body:
            word, rest = body.split(" ", 1)
            body = f"\x1b[1m{word}\x1b[0m {rest}"
        out.append(body + end)
    if out:
        out[0] = TITLE + out[0]
    joined = "\n".join(out)
    return re.sub(r"/var/log/\S+", lambda m: LINK.format(m.group(0)), joined, count=1)


def quoted(text: str, mark: str = "> ") -> str:
    """``text`` quoted in an e-mail reply: the reply's own lines, then every line of ``text`` behind ``mark``."""
    crlf = "\r\n" in text
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = [f"{mark}{line}" if line.strip() else mark.rstrip() for line in lines]
    joined = "\n".join([*REPLY_HEAD, *body]) + "\n"
    return joined.replace("\n", "\r\n") if crlf else joined


NOTE = "Hi, the backup failed again last night.\nHere is the log:\n\n"  # a note before an indented paste


def indented(text: str, margin: str = "    ") -> str:
    """``text`` with every line that holds text behind ``margin`` (a Markdown code block, an indented paste)."""
    return "".join(f"{margin}{line}" if line.strip() else line for line in text.splitlines(True))


SHAPES: dict[str, Callable[[str], str]] = {
    "colour": colour,
    "quoted": quoted,
    "quoted_twice": lambda text: quoted(text, ">> "),
    "quoted_nested": lambda text: quoted(quoted(text), "> "),
    "quoted_glued": lambda text: quoted(text, ">"),
    "colour_quoted": lambda text: quoted(colour(text)),
    "indented": indented,
    "indented_tab": lambda text: indented(text, "\t"),
    "indented_two": lambda text: indented(text, "  "),
    "colour_indented": lambda text: indented(colour(text)),
    "noted_indented": lambda text: NOTE + indented(text),
    "quoted_indented": lambda text: quoted(indented(text)),
}
