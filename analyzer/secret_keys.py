"""Which keys name a secret, and the encodings a secret hides behind; used by :mod:`analyzer.redact`.

A key names a secret whatever its syntax (a JSON or Python key, an INI/conf/env name, an XML element,
attribute or ``Name=`` of event data, a ``reg query`` value name, a command-line flag) when its words
say so: ``password``, ``passwd``, ``passphrase``, ``pwd``, ``secret``, ``token``, ``credential``,
``connectionString``, ``signature``/``sig``, ``authorization``, ``cookie``, ``protectedSettings``,
``objectStr``, ``customData`` and any ``...Key`` of a secret (``accountKey``, ``storageAccountKey``,
``apiKey``, ``x-ms-encryption-key``), unless its last word says it holds something else about the secret
(``passwordExpiry``, ``tokenType``, ``secretName``, ``keyVaultUri``, ``protectedSettingsCertThumbprint``).

:func:`decode` undoes the encodings that let a secret slip past a pattern: URL encoding (once or
twice: ``%2526sig%253D``), JSON and C escapes (``\\u002B``, ``\\x2b``, ``\\/``, ``\\"``) and HTML entities.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

_WORD_BREAK = re.compile(r"[^a-z0-9]+")
# last words that make a key about a secret, not the secret itself
_ABOUT = re.compile(
    r"(?:thumbprint|name|names|id|ids|uri|url|urls|path|file|filename|dir|folder|type|length|len|size|count|version"
    r"|expiry|expiration|expires|expireson|expiresin|expiresat|policy|policies|required|enabled|disabled|enable"
    r"|disable|set|changed|change|reset|age|hint|prompt|provider|algorithm|alg|format|authentication|auth"
    r"|authtype|stdin|field|label|store|vault|endpoint|lifetime|ttl|time|date|created|updated|status|state|kind"
    r"|mode|source|location|rotation|complexity|history|lastset|encoding|method|scheme|scope|audience|issuer"
    r"|header|prefix|suffix|flag|option|options|manager|service|server|cache|handler|validation|generator"
    r"|length|strength|quality|minlength|maxlength|chars|file|files|sha|hash|md5|fingerprint|request|response"
    r"|sent|received|renewal|refreshed|acquired|error|failed|failure|missing|empty|valid|invalid|check|type)$")
_HARMLESS_KEY_OWNERS = ("public", "ssh", "registry", "reg", "sub", "h", "root", "partition", "row", "sort",
                        "foreign", "hot", "lookup", "dict", "map", "index", "cache", "")
_EXACT = {
    "protectedsettings": "protected-settings", "objectstr": "object-str", "customdata": "custom-data",
    "credstring": "password", "sig": "sas", "sas": "sas", "pass": "password", "pw": "password",
    "auth": "token", "cred": "password", "creds": "password", "connstr": "secret",
}
_PASSWORD_WORDS = ("password", "passwd", "passphrase", "passwort", "credential")
_SECRET_WORDS = ("secret", "connectionstring", "connectionstr", "privatekey")
_TOKEN_WORDS = ("token", "authorization", "signature", "cookie", "bearer")
# "Key" as a word of its own: camelCase (accountKey), after a separator (ACCOUNT_KEY, x-ms-key), or alone
_KEY_WORD = re.compile(r"(?:[a-z0-9]Key|[_\-. ][Kk][Ee][Yy])$")
_KEY_OWNERS = ("account", "storage", "storageaccount", "shared", "primary", "secondary", "api", "access", "secret",
               "private", "master", "host", "function", "encryption", "subscription", "client", "sas", "signing",
               "session", "license", "product", "instrumentation", "workspace")
_STORAGE_KEY_OWNERS = ("account", "storage", "storageaccount", "shared", "primary", "secondary", "blob", "table",
                       "queue", "file", "accountaccess", "storageaccess")


@lru_cache(maxsize=8192)
def secret_kind(key: str) -> str | None:
    """The redaction kind of the value a key names, or ``None`` when the key names no secret."""
    if key in ("PWD", "OLDPWD"):  # the shell's working folder in environment dumps
        return None
    k = _WORD_BREAK.sub("", key.lower())
    if not k or len(k) > 80:
        return None
    if k in _EXACT:
        return _EXACT[k]
    if _ABOUT.search(k) and not k.endswith(("token", "key", "secret", "password")):
        return None
    if k.startswith("xms"):  # x-ms-* request headers: keys and signatures of storage requests
        return "token" if k.endswith(("key", "authorization", "signature", "secret", "token")) else None
    if k.endswith("key"):
        owner = k[:-3]
        if owner in _HARMLESS_KEY_OWNERS or owner.endswith(("public", "ssh")):
            return None
        if not (_KEY_WORD.search(key) or owner in _KEY_OWNERS):
            return None  # "...KEY" inside one word (a base64 run, "monkey") is not a key name
        return "storage-key" if owner in _STORAGE_KEY_OWNERS else "secret"
    if any(w in k for w in _PASSWORD_WORDS) or k.endswith("pwd"):
        return "password"
    if any(w in k for w in _SECRET_WORDS):
        return "secret"
    if any(w in k for w in _TOKEN_WORDS) or k.endswith(("sig", "auth")):
        return "token"
    return None


# --- encodings ------------------------------------------------------------------------------------
ESCAPED = re.compile(r"%[0-9A-Fa-f]{2}|\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[/\"'\\nrt])"
                     r"|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|amp|quot|apos|lt|gt);")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_BACKSLASH = re.compile(r"\\(?:u([dD][89abAB][0-9A-Fa-f]{2})\\u([dD][c-fC-F][0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})"
                        r"|x([0-9A-Fa-f]{2})|([/\"'\\])|([nrt]))")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|amp|quot|apos|lt|gt);")
_CONTROL = {"n": "\n", "r": "\r", "t": "\t"}
MAX_LEVELS = 3  # URL encoding of URL encoding of URL encoding


def _backslash(m: re.Match[str]) -> str:
    if m.group(1):  # a surrogate pair
        high, low = int(m.group(1), 16), int(m.group(2), 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    if m.group(3) or m.group(4):
        code = int(m.group(3) or m.group(4), 16)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    return m.group(5) or _CONTROL[m.group(6)]


def _percent(m: re.Match[str]) -> str:
    return bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8", "replace")


def decode_once(s: str) -> str:
    s = _PERCENT_RUN.sub(_percent, s) if "%" in s else s
    s = _BACKSLASH.sub(_backslash, s) if "\\" in s else s
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), s) if "&" in s else s


def decode(s: str) -> str:
    """``s`` with its URL, JSON/C and HTML encodings undone, up to :data:`MAX_LEVELS` deep."""
    return decodings(s)[-1]


def decodings(s: str) -> list[str]:
    """``s`` and each level of it decoded (:func:`decode_once`), up to :data:`MAX_LEVELS`, while it changes."""
    levels = [s]
    for _ in range(MAX_LEVELS):
        if not ESCAPED.search(s) or (s := decode_once(s)) == levels[-1]:
            break
        levels.append(s)
    return levels
