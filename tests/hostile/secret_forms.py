"""Generated secrets: every way a log, a config file, an event or a command line names a secret, in every encoding.

A *form* puts a secret value after a key, flag or command; an *encoding* then writes the whole line the way a
logger, a serializer or a pasted terminal would (URL-encoded once or twice, JSON-escaped, ``\\uXXXX`` escapes,
HTML entities, the value wrapped onto the next line). :func:`leaks` finds any part of the value left in a text.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote

# keys that name a secret, in the spellings real files use
KEYS = ["password", "adminPassword", "admin_password", "DB_PASSWORD", "UserPassword", "clientSecret",
        "client_secret", "ClientSecret", "storageAccountKey", "AccountKey", "apiKey", "API_KEY", "x-ms-encryption-key",
        "accessToken", "refresh_token", "sasToken", "snapshotTaskToken", "connectionString", "credential", "credString",
        "pwd", "Secret", "privateKey", "passphrase", "protectedSettings", "objectStr", "customData"]

# how a key names its value (``{k}`` key, ``{v}`` value, ``{flag}`` kebab-case key, ``{Flag}`` PascalCase key)
KEYED = ['"{k}": "{v}"', '{{"{k}":"{v}","x":1}}', "{{'{k}': '{v}'}}", "{k} = {v}", "{k}={v}", "export {k}={v}",
         "{k}: {v}", "<{k}>{v}</{k}>", '<item {k}="{v}" />', "<Data Name='{k}'>{v}</Data>",
         '<add key="{k}" value="{v}"/>', '<Setting name="{k}" value="{v}" />', '{{"name": "{k}", "value": "{v}"}}',
         "    {k}    REG_SZ    {v}", "--{flag} {v}", "--{flag}={v}", "-{Flag} {v}", "{k}:\n    {v}", "{k}=\n{v}"]
# forms whose syntax is the secret's own: URLs, headers, connection strings, commands that take a password
UNKEYED = ["https://acct.blob.core.windows.net/c/b.vhd?sv=2020-01-01&sr=b&sp=r&sig={v}",
           "https://acct.blob.core.windows.net/c/b.status?comp=block&sig={v}&se=2030-01-01",
           "uploading to https://md-x.blob.storage.azure.net/$system/vm.vmSettings?sv=2018&sig={v}",
           "retry with sig={v}", "https://bob:{v}@proxy.corp:3128", "Authorization: Bearer {v}",
           "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={v};EndpointSuffix=core.windows.net",
           "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2020&sig={v}",
           "mysql -u root -p{v} backupdb", "sshpass -p {v} ssh admin@host", "az login -u app@x.com -p {v} --tenant t",
           "echo admin:{v} | chpasswd", "echo '{v}' | passwd --stdin bob", "chpasswd <<< 'bob:{v}'",
           "ConvertTo-SecureString '{v}' -AsPlainText -Force", "ConvertTo-SecureString -String \"{v}\" -AsPlainText",
           "net user bob {v} /add", "curl -u bob:{v} https://example.org", "cmdkey /add:host /user:bob /pass:{v}"]
# forms whose value may be wrapped in the middle (an unquoted value that runs to the line end)
WRAPPABLE = {"{k} = {v}", "{k}={v}", "export {k}={v}", "{k}: {v}", "--{flag} {v}", "--{flag}={v}", "-{Flag} {v}",
             '"{k}": "{v}"', "<{k}>{v}</{k}>", UNKEYED[0], UNKEYED[3], UNKEYED[5], UNKEYED[6]}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"


def _kebab(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", key).replace("_", "-").lower()


def _pascal(key: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[-_]", key))


def line(form: str, key: str, value: str) -> str:
    return form.format(k=key, v=value, flag=_kebab(key), Flag=_pascal(key))


def _unicode_escaped(s: str) -> str:  # System.Text.Json and PowerShell escape every symbol this way
    return "".join(c if c.isalnum() or c == " " else f"\\u{ord(c):04x}" for c in s)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "url": lambda s: quote(s, safe=""),
    "url-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "url-query": lambda s: quote(s, safe="/:?=&"),
    "json": lambda s: json.dumps(s)[1:-1],
    "json-ascii-slashes": lambda s: json.dumps(s).replace("/", "\\/").replace("&", "\\u0026")[1:-1],
    "unicode": _unicode_escaped,
    "html": html.escape,
    "html-decimal": lambda s: "".join(c if c.isalnum() or c == " " else f"&#{ord(c)};" for c in s),
    "html-hex": lambda s: "".join(c if c.isalnum() or c == " " else f"&#x{ord(c):X};" for c in s),
    "html-in-json": lambda s: json.dumps(html.escape(s))[1:-1],
}


def wrap(text: str, value: str, at: int) -> str:
    """``text`` with ``value`` split at ``at``: the rest at the start of the next line (a pasted, wrapped line)."""
    return text.replace(value, value[:at] + "\n" + value[at:], 1)


def leaks(text: str | Searchable, value: str, n: int = 8) -> list[str]:
    """Parts of ``value`` (any ``n`` characters of it, raw or encoded) that ``text`` still holds."""
    where = text if isinstance(text, Searchable) else Searchable(text)
    found = [value[i:i + n] for i in range(len(value) - n + 1) if where.holds(value[i:i + n])]
    b64 = base64.b64encode(value.encode()).decode().rstrip("=")
    if where.holds(b64[:16]):
        found.append("base64:" + b64[:16])
    return found


def leaked(outputs: dict[str, str], values: list[str], n: int = 8) -> dict[str, list[str]]:
    """For each output holding any ``n`` characters of any of ``values`` (raw or decoded): those values."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for value in values:
        b64 = base64.b64encode(value.encode()).decode().rstrip("=")
        for part in [value[i:i + n] for i in range(len(value) - n + 1)] + [b64[:16]]:
            automaton.add_word(part, value)
    automaton.make_automaton()
    found = {}
    for name, text in outputs.items():
        hits = {v for t in (text, decode_all(text)) for _, v in automaton.iter(t)}
        if hits:
            found[name] = sorted(hits)
    return found


class Searchable:
    """An output as it is and fully decoded (URL, JSON, HTML), to search for secrets many times."""

    def __init__(self, text: str) -> None:
        self.texts = (text, decode_all(text))

    def holds(self, part: str) -> bool:
        return any(part in t for t in self.texts)


def decode_all(text: str) -> str:
    from urllib.parse import unquote

    out = text
    for _ in range(3):
        out = unquote(html.unescape(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), out)))
        out = out.replace("\\/", "/")
    return out
