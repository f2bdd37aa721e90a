"""Redaction of secrets, and optional masking of identifying data, in everything that leaves the tool.

The rules are the ones of the shared ``secrets.md``: pattern-based over the final text of every output
(never dependent on which parser ran), keep the shape (a SAS URL keeps scheme, host and path; a JSON
key keeps its name; an XML element keeps its tag), count by kind, never record a value.

Secrets are found by their shape (SAS queries, JWTs, PEM blocks, long base64, ``user:pass@`` in URLs)
and by the key that names them, in every syntax a key takes: JSON/Python keys, INI/conf/env names,
XML elements and attributes, ``<Data Name='Password'>`` event data and ``name``/``value`` pairs, ``reg
query`` lines, command-line flags (``--admin-password X``, ``-p X``, ``-pX``, ``/p:X``) and the commands
that take a password (``echo user:X | chpasswd``, ``ConvertTo-SecureString 'X'``, ``net user NAME X``).
Which keys name a secret is :func:`analyzer.secret_keys.secret_kind`. A value that a wrapped line carries
to the next line is taken with it. A string holding URL, JSON/C or HTML escapes is also read decoded
(:func:`analyzer.secret_keys.decode`, up to three levels deep): when that finds a secret, the decoded,
redacted text is what leaves the tool, so no escape (``%2526sig%253D``, ``\\u002B``) lets part of a value
through. Every value removed by key is remembered (:meth:`Redactor.learn_secret`) and removed wherever it
appears again, in any field of any output this redactor writes, and in its URL and JSON encodings.

Speed and safety: one combined prefilter decides whether a string can hold a secret at all; the
heavier patterns only run when it matched. Every pattern has bounded quantifiers and no nested
repetition, and the spans whose end is not known in advance (PEM blocks, quoted values, XML element
text) are found with plain ``str.find`` scans, so the cost stays linear in the input length.

Masking (``obfuscate=True``) replaces IPs, MACs, GUIDs, host, VM, resource-group and storage-account
names, and user names in home directories with consistent tokens (``<ip-1>``, ``<host-2>``...): the
same value gets the same token everywhere the same :class:`Redactor` sees it, URL-encoded too. The
mapping stays inside the object and is never written anywhere.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import quote

from analyzer.secret_keys import ESCAPED, decodings, secret_kind

_I = re.IGNORECASE
_MAX_VALUE = 1 << 20  # longest single value replaced in one piece; a longer one is cut there
_MAX_KNOWN = 4096  # learned secret values (with their encodings) replaced wherever they appear
_MIN_KNOWN = 6  # shorter values are not learned: they would match ordinary words

ALREADY_REDACTED = "already-redacted"  # <redacted> and ***REDACTED*** written by the agent itself


def token(kind: str) -> str:
    return f"<redacted:{kind}>"


_SAS_KEYS = r"(?:sv|st|se|sr|sp|sip|spr|sig|sk|skoid|sktid|skt|ske|sks|skv)"
_B64 = "A-Za-z0-9+/"

# --- the prefilter: one pass over the lower-cased text for a literal that every secret pattern needs
# (a SAS is only secret with its signature, so "sig" gates all SAS forms); long base64 runs apart
_PREFILTER = re.compile(
    r"sig|key|secret|token|pass|pw|cred|conn|auth|cookie|bearer|sas|protected|object.?str|custom.?data|private key"
    r"|x-ms-|eyj|<data|redacted|:(?:\\?/){2}[^\s@]{1,512}@|(?:^|\s)(?:-[pu]|/p|--user)|securestring"
    r"|net(?:\.exe)? +user|reg_"
)
_BASE64_48 = re.compile(rf"[{_B64}]{{48}}")


def _may_hold_secret(s: str) -> bool:
    return _PREFILTER.search(s.lower()) is not None or (len(s) >= 48 and _BASE64_48.search(s) is not None)


# --- secret patterns ------------------------------------------------------------------------------
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----", _I)
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----", _I)

_STORAGE_KEY = re.compile(r"(AccountKey|SharedAccessSignature|SharedAccessKey)([ \t]{0,3}=[ \t]{0,3})"
                          r"([^;\"'<>\s\\]{0,4096})", _I)
# a URL query (after ``?`` or its encoded ``%3F``); JSON-escaped ``\u0026`` and ``\/`` stay inside it
_QUERY = re.compile(r"(\?|%3f)((?:[^\s\"'<>\\]|\\u0026|\\/|<redacted:[a-z0-9-]{1,30}>){1,65536})", _I)
_SAS_PARAM = re.compile(rf"(?:\A|&amp;|&|%26|\\u0026|;){_SAS_KEYS}(?:=|%3d)", _I)
_SIG_VALUE = re.compile(r"(?:\A|&amp;|&|%26|\\u0026|;)sig(?:=|%3d)([^&\s\"'<>\\]{1,4096})", _I)
_BARE_SIG = re.compile(r"(?:(?<![A-Za-z0-9_])|(?<=%26)|(?<=u0026))(sig(?:=|%3d))([^\s\"'<>&\\]{0,4096})", _I)
_AUTH_HEADER = re.compile(r"(Authorization[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']?"
                          r"(?:(?:Bearer|Basic|SharedKey|SharedAccessSignature)[ \t]{1,5})?)([^\s\"',;]{1,8192})", _I)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{0,8192}")
_PROXY_CRED = re.compile(r"([a-z][a-z0-9+.-]{0,15}:(?:\\?/){2})([^\s:/@\"'<>\\]{1,256}):([^\s@\"'<>\\]{1,256})@", _I)

# a key (any key: secret_kind() decides), the end of its quotes, a separator, the quote of its value
_KV = re.compile(r"(?<![\w$@.\-])([A-Za-z_$@][\w$@.\-]{0,79}+)(\\{0,3}[\"']|&quot;)?[ \t]{0,5}+"
                 r"(?:=>|:=|[:=])[ \t]{0,5}+(\\{0,3}[\"']|&quot;)?")
# {"name": "Password", "value": "..."}: the value of a pair whose name is a secret key
_NAME_VALUE = re.compile(r"[\"']?(?:name|key)[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']([\w.$\- ]{1,80})[\"'][ \t]{0,5}"
                         r"[,;][ \t\r\n]{0,40}[\"']?value[\"']?[ \t]{0,5}[:=][ \t]{0,5}([\"'])?", _I)
# a command-line flag and its value: --admin-password X, --password=X, -Password X, /p:X, -p X
_FLAG = re.compile(r"(?<![\w\-/])(--?|/)([A-Za-z][\w\-]{0,63}+)(?:(=)|(?<=[\w])(:)|[ \t]{1,5}+)(?!-)"
                   r"(\"[^\"]{0,1024}\"|'[^']{0,1024}'|[^\s\"'|;&<>]{1,4096})")
_PORT_OR_PATH = re.compile(r"\d{1,5}(?::\d{1,5}){0,2}|[/.~$%].*")
_ATTACHED_P = re.compile(r"\b(?:mysql\w{0,12}|mariadb\w{0,12}|7z|7za|sqlcmd)\b[^\n|;&]{0,512}?[ \t]-p(?=[^\s\-])"
                         r"(\"[^\"\n]{0,1024}\"|'[^'\n]{0,1024}'|[^\s\"'|;&<>]{1,1024})", _I)
_SECURE_STRING = re.compile(r"ConvertTo-SecureString[ \t]{1,5}(?:-String[ \t]{1,5})?"
                            r"(\"[^\"]{1,1024}\"|'[^']{1,1024}'|[^\s\"'|;&<>()]{1,1024})", _I)
_PIPED_PASSWORD = re.compile(r"\b(?:echo|printf)[ \t]{1,5}(?:-[neE]{1,3}[ \t]{1,5})?([\"']?)([^\"'|\n]{1,1024}?)\1"
                             r"[ \t]{0,5}\|[ \t]{0,5}(?:sudo[ \t]{1,5}(?:-\S{1,10}[ \t]{1,5}){0,3})?"
                             r"(?:chpasswd|passwd|sudo[ \t]{1,5}-S|cryptsetup|openssl)\b", _I)
_HERE_PASSWORD = re.compile(r"\bchpasswd[ \t]{0,5}<<<[ \t]{0,5}([\"']?)([^\"'\s:]{1,256}:)([^\"'\s]{1,1024})", _I)
_NET_USER = re.compile(r"\bnet(?:\.exe)?[ \t]{1,5}user[ \t]{1,5}(\"[^\"\n]{1,256}\"|[^\s/\"]{1,256})[ \t]{1,5}"
                       r"(\"[^\"\n]{1,1024}\"|[^\s/\"*][^\s\"]{0,1023})", _I)
_REG_VALUE = re.compile(r"(?<![\w\-])([\w.$\-]{1,80})[ \t]{2,}REG_(?:SZ|EXPAND_SZ|MULTI_SZ|BINARY)[ \t]{2,}"
                        r"([^\r\n]{1,4096})", _I)
# XML: an element and its attributes (a name attribute may make the element's text or value a secret)
_TAG = re.compile(r"(<|&lt;)(?!/|redacted:)(?:[\w.\-]{1,40}:)?([\w.\-]{1,80})"
                  r"((?:[ \t\r\n]{1,20}[\w:.\-]{1,80}[ \t]{0,5}=[ \t]{0,5}"
                  r"(?:\"[^\"<>]{0,1024}\"|'[^'<>]{0,1024}'|&quot;[^<>&]{0,1024}&quot;)){0,20})"
                  r"[ \t\r\n]{0,20}(/?)(>|&gt;)")
_ATTR = re.compile(r"([\w:.\-]{1,80})[ \t]{0,5}=[ \t]{0,5}(?:\"([^\"]*)\"|'([^']*)'|&quot;(.*?)&quot;)")
_XML_VALUE_CHILD = re.compile(r"\s{0,200}<(?:[\w.-]{1,40}:)?Value>", _I)
_UNQUOTED_VALUE = re.compile(r"[^\s,;&<>\"'\\)\]}]{1,65536}")
# a value on the next line: a key whose value is empty at a line end, or a value that runs up to it
_NEXT_LINE_VALUE = re.compile(r"[ \t]{0,5}\r?\n[ \t]{0,40}([A-Za-z0-9%+/=_\-.~]{1,4096})(?=[\s\"'&;,<]|\Z)")
# a value that ran up to a line end (its token is followed by the line break) and goes on at the next line's start
_WRAPPED = re.compile(r"(<redacted:(?!private-key|base64-blob)[a-z0-9-]{1,30}>)(\r?\n)(?:([A-Za-z0-9%+/=_\-]{1,4096})"
                      r"|[ \t]{1,40}([A-Za-z0-9%+/=_\-]{1,4096}))(?=[\s\"'&;,<]|\Z)")
_ENCODED_LOOK = re.compile(r"[0-9%+/=]|[a-z][A-Z]|[A-Z]{2}[a-z]")
_NOT_A_VALUE = {"", "*", "null", "none", "true", "false", "y", "n", "yes", "no", "redacted", "<redacted>",
                "***redacted***", "0", "1", "[]", "{}", "''", '""', "bearer", "basic", "negotiate", "ntlm", "digest",
                "sharedkey", "sharedaccesssignature"}  # the last ones: an Authorization scheme, its value follows
_BASE64_DATA = re.compile(rf"[{_B64}=\s]{{64,1048576}}")
_BASE64_RUN = re.compile(rf"[{_B64}]{{100,65536}}={{0,2}}")
_BASE64_PADDED = re.compile(rf"(?<![{_B64}])[{_B64}]{{40,99}}={{1,2}}(?![{_B64}=])")
_BASE64_LINE = re.compile(rf"\s{{0,20}}[{_B64}]{{48,99}}={{0,2}}\s{{0,20}}")
# encoded bytes nearly always hold a digit, "+" or "/" (48 random base64 characters lack all three with
# probability 5e-5); a run of letters only is a word or an identifier such as an Azure error-code name
_B64_SYMBOL = re.compile(r"[0-9+/]")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_PRE_REDACTED = re.compile(r"<redacted>|\*\*\*REDACTED\*\*\*", _I)
_TOKEN_TEXT = re.compile(r"<redacted:[a-z0-9-]{1,30}>")

# --- identifying data (masked with obfuscate=True) ----------------------------------------------
# a value may follow an encoded separator: %2F<guid>, \u002F10.0.0.4
_AFTER_ESCAPE = r"(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})|(?<=\\x[0-9A-Fa-f]{2})"
_KEEP_IPS = {"168.63.129.16", "169.254.169.254", "127.0.0.1", "0.0.0.0", "255.255.255.255"}
_GUID = re.compile(rf"(?:(?<![0-9A-Fa-f-])|{_AFTER_ESCAPE})[0-9A-Fa-f]{{8}}-[0-9A-Fa-f]{{4}}-[0-9A-Fa-f]{{4}}"
                   r"-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f-])")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_SID = re.compile(r"(?<![\w-])S-1-5-21(?:-\d{1,10}){3,4}(?![\w-])")
_MAC = re.compile(rf"(?:(?<![\w:-])|(?<=[A-Za-z]:)|{_AFTER_ESCAPE})[0-9A-Fa-f]{{2}}([:-])"
                  r"(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])")
_IPV4 = re.compile(rf"(?:(?<![\w.-])|{_AFTER_ESCAPE})(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){{3}}"
                   r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w-]|\.\d)")
# "version 2.9.1.1", "agent 2.2.53.1": a version, not an address ("nameserver 10.0.0.4" is an address)
_VERSION_CONTEXT = re.compile(r"(?<![A-Za-z])(?:version|ver|agent|v)[\s:=\"']{0,3}\Z", _I)
_IPV6 = re.compile(r"(?<![\w:.])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
                   r"|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?"
                   r"|::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}))(?![\w:.])")
_STORAGE_HOST = re.compile(rf"(?:(?<![\w.-])|{_AFTER_ESCAPE})([a-z0-9-]{{3,63}})(\.(?:blob|table|queue|file)\."
                           r"(?:core\.windows\.net|storage\.azure\.net))", _I)
_CLOUDAPP = re.compile(rf"(?:(?<![\w.-])|{_AFTER_ESCAPE})([\w-]{{1,63}}(?:\.[\w-]{{1,63}}){{0,3}})"
                       r"(\.internal\.cloudapp\.net)", _I)
_HOME_USER = re.compile(r"(/home/|\\Users\\|/Users/|%2Fhome%2F)([^/\\\s\"'<>%]{1,64})", _I)
# names worth learning before masking: host/computer/VM names, resource groups, user names
_NAME_FIELDS = re.compile(
    r"(?:<(?:[\w.-]{1,40}:)?(HostName|ComputerName|Computer|UserName|AdminUsername)>"
    r"|\"?(computerName|computer|vmName|resourceGroupName|hostname|osProfile\.computerName|adminUsername)\"?"
    r"[ \t]{0,3}[:=][ \t]{0,3}\"?)([A-Za-z0-9][A-Za-z0-9_.-]{1,62})",
    _I,
)
_USER_FIELDS = {"username", "adminusername"}
_HOST_KEYS = {"computer", "computername", "hostname", "host", "machinename", "vmname", "workstationname",
              "resourcegroupname", "deploymentname", "roleinstance"}


class Redactor:
    """Redacts secrets from text, counting replacements by kind; optionally masks identifying data."""

    def __init__(self, obfuscate: bool = False) -> None:
        self.obfuscate = obfuscate
        self.by_kind: Counter[str] = Counter()
        self._tokens: dict[str, dict[str, str]] = {}
        self._names: dict[str, str] = {}  # learned name (lower case) -> kind
        self._names_re: re.Pattern[str] | None = None
        self._known = _KnownSecrets()

    # --- public ----------------------------------------------------------------------------------
    def text(self, s: str) -> str:
        s = self.secrets(s)
        return self.identifying(s) if self.obfuscate else s

    def value(self, obj: Any, mask: bool = True) -> Any:
        """A copy of a JSON-like value (strings, lists, tuples, dicts: keys and values) with every string redacted.

        A value under a key that names a secret (``Password``, ``ClientSecret``...) is replaced whole, and
        remembered so that it is removed from every other field too (this call's first, then any later one).
        Values under a key naming a version (``version``, ``agent_version``) are never masked as IPs:
        ``2.9.1.1`` there is an agent version, not an address.
        """
        self.learn_keyed(obj)
        if not isinstance(obj, str) and self._known:  # one search over the whole record decides for its fields
            self._known.gate("\x00".join(_strings(obj)))
        try:
            return self._value(obj, mask)
        finally:
            self._known.gate(None)

    def _value(self, obj: Any, mask: bool) -> Any:
        if isinstance(obj, str):
            return self.text(obj) if mask else self.secrets(obj)
        if isinstance(obj, list | tuple):
            return [self._value(x, mask) for x in obj]
        if isinstance(obj, dict):
            secret_name = _secret_pair_name(obj)
            out = {}
            for k, v in obj.items():
                kind = secret_kind(k) if isinstance(k, str) else None
                if kind is None and secret_name is not None and k in _PAIR_VALUES:
                    kind = secret_name
                if kind is not None and _is_secret_value(v):
                    self.by_kind[kind] += 1
                    out[self._value(k, mask)] = token(kind)
                    continue
                keep = mask and not (isinstance(k, str) and "version" in k.lower())
                out[self._value(k, mask)] = self._value(v, keep)
            return out
        return obj

    def learn_keyed(self, obj: Any) -> None:
        """Remember (and, with ``obfuscate``, learn as names) the values under secret and host keys of ``obj``."""
        if isinstance(obj, list | tuple):
            for x in obj:
                self.learn_keyed(x)
        elif isinstance(obj, dict):
            secret_name = _secret_pair_name(obj)
            for k, v in obj.items():
                if isinstance(v, dict | list | tuple):
                    self.learn_keyed(v)
                elif isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool):
                    kind = secret_kind(k) or (secret_name if k in _PAIR_VALUES else None)
                    if kind is not None:
                        self.learn_secret(str(v), kind)
                    elif self.obfuscate and isinstance(v, str) and k.lower().replace("_", "") in _HOST_KEYS:
                        self.learn_name(v, "host")

    def secrets(self, s: str) -> str:
        if not s:
            return s
        pre = len(_PRE_REDACTED.findall(s)) if "edacted" in s or "EDACTED" in s else 0
        self.by_kind[ALREADY_REDACTED] += pre
        if ESCAPED.search(s):
            levels = decodings(s)
            if len(levels) > 1:
                out = self._pass(levels[-1])
                if out != levels[-1]:  # the decoded text held a secret: it leaves decoded and redacted
                    return out
                for level in levels[-2:0:-1]:  # a learned value that holds an escape of its own (``a%41b``)
                    if self._known.sub(level, Counter()) != level:
                        return self._pass(level)
        return self._pass(s)

    def identifying(self, s: str) -> str:
        if not s:
            return s
        s = _GUID.sub(lambda m: m.group(0) if m.group(0) == _NIL_GUID else self._mask("guid", m.group(0)), s)
        s = _MAC.sub(lambda m: self._mask("mac", m.group(0)), s)
        s = _SID.sub(lambda m: self._mask("sid", m.group(0)), s)
        s = _IPV6.sub(self._ipv6, s)
        s = _IPV4.sub(self._ipv4, s)
        if self._names_re is not None:
            s = self._names_re.sub(lambda m: self._mask(self._names[m.group(0).lower()], m.group(0)), s)
        s = _STORAGE_HOST.sub(lambda m: self._mask("storage", m.group(1)) + m.group(2), s)
        s = _CLOUDAPP.sub(lambda m: self._mask("domain", m.group(1)) + m.group(2), s)
        s = _HOME_USER.sub(lambda m: m.group(1) + self._mask("user", m.group(2)), s)
        return s

    def learn(self, texts: Iterable[str]) -> None:
        """Collect host, VM, resource-group and user names from ``texts`` so that they are masked everywhere."""
        for t in texts:
            if not t:
                continue
            for m in _NAME_FIELDS.finditer(t):
                field = (m.group(1) or m.group(2) or "").lower()
                self.learn_name(m.group(3), "user" if field in _USER_FIELDS else "host")

    def learn_name(self, name: str, kind: str = "host") -> None:
        name = name.strip()
        if len(name) < 3 or name.lower() in self._names or name.lower() in ("localhost", "hostname", "username"):
            return
        self._names[name.lower()] = kind
        alternation = "|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True))
        # bounded by anything but a letter or digit, so collector file names (HOST_evt_System.evtx) are masked too
        self._names_re = re.compile(rf"(?:(?<![A-Za-z0-9])|{_AFTER_ESCAPE})(?:{alternation})(?![A-Za-z0-9])", _I)

    def learn_secret(self, value: str, kind: str) -> None:
        """Remove ``value`` (and its URL and JSON encodings) wherever this redactor sees it from now on."""
        value = value.strip().strip("\"'")
        if len(value) < _MIN_KNOWN or len(value) > 4096 or value in self._known:
            return
        if _TOKEN_TEXT.search(value) or value.lower() in _NOT_A_VALUE or (value.isalpha() and len(value) < 16):
            return  # a short word is a placeholder or an ordinary word (often the key's own name), not learned
        for form in (value, quote(value, safe=""), quote(quote(value, safe=""), safe=""), json.dumps(value)[1:-1],
                     json.dumps(value, ensure_ascii=True)[1:-1], html.escape(value)):
            self._known.add(form, kind)

    def summary(self, since: Counter[str] | None = None) -> dict[str, Any]:
        """``report.redactions``: ``count`` is what this tool replaced; pre-redacted values count apart.

        ``since``: a copy of ``by_kind`` taken earlier, to count one report of several.
        """
        counts = self.by_kind - since if since is not None else self.by_kind
        by_kind = {k: n for k, n in sorted(counts.items()) if n}
        return {"count": sum(n for k, n in by_kind.items() if k != ALREADY_REDACTED), "by_kind": by_kind}

    # --- secrets ---------------------------------------------------------------------------------
    def _pass(self, s: str) -> str:
        """The values learned so far wherever they appear, then every secret pattern over ``s`` (plain text, or the
        decoded form of an encoded one), then the values those patterns learned. Learned values go first: a pattern
        that matches inside one (``PWD=2`` at the end of a password) would otherwise leave the rest of it."""
        s = self._known.sub(s, self.by_kind)
        if _may_hold_secret(s):
            s = self._known.sub(self._patterns(s), self.by_kind)
        return s

    def _patterns(self, s: str) -> str:
        s = self._pem(s)
        s = self._sub(_STORAGE_KEY, s, "storage-key", self._storage_key)
        s = self._sub(_QUERY, s, "sas", self._query)
        s = self._sub(_BARE_SIG, s, "sas", self._bare_sig)
        s = self._sub(_AUTH_HEADER, s, "token", lambda m: m.group(1) + self._secret(m.group(2), "token"))
        s = self._sub(_JWT, s, "token", lambda m: self._secret(m.group(0), "token"))
        s = self._sub(_PROXY_CRED, s, "password",
                      lambda m: f"{m.group(1)}{m.group(2)}:{self._secret(m.group(3), 'password')}@")
        s = self._commands(s)
        s = self._sub(_FLAG, s, "", self._flag)
        s = self._xml(s)
        s = self._pairs(s)
        s = self._sub(_REG_VALUE, s, "", self._reg_value)
        s = self._kv(s)
        s = self._sub(_BASE64_RUN, s, "base64-blob",
                      lambda m: token("base64-blob") if _B64_SYMBOL.search(m.group(0)) else m.group(0))
        s = self._sub(_BASE64_PADDED, s, "base64-blob",
                      lambda m: token("base64-blob") if _B64_SYMBOL.search(m.group(0)) else m.group(0))
        if _BASE64_LINE.fullmatch(s) and _B64_SYMBOL.search(s) and not _HEX.fullmatch(s.strip()):
            self.by_kind["base64-blob"] += 1
            s = token("base64-blob")
        return _WRAPPED.sub(self._wrapped_tail, s) if "\n" in s else s

    def _sub(self, pattern: re.Pattern[str], s: str, kind: str,
             repl: Callable[[re.Match[str]], str]) -> str:
        """``pattern.sub(repl)``; a non-empty ``kind`` is counted once per changed match (else ``repl`` counts)."""
        if not kind:
            return pattern.sub(repl, s)

        def counted(m: re.Match[str]) -> str:
            out = repl(m)
            if out != m.group(0) and not _TOKEN_TEXT.search(m.group(0)):  # a token inside was counted already
                self.by_kind[kind] += 1
            return out

        return pattern.sub(counted, s)

    def _secret(self, value: str, kind: str) -> str:
        """The token for ``value``, which is remembered so that it is removed wherever it appears again."""
        self.learn_secret(value, kind)
        return token(kind)

    def _storage_key(self, m: re.Match[str]) -> str:
        if not _is_value(m.group(3)):
            return m.group(0)
        return m.group(1) + m.group(2) + self._secret(m.group(3), "storage-key")

    def _query(self, m: re.Match[str]) -> str:
        query = m.group(2)
        if not _SAS_PARAM.search(query):
            return m.group(0)
        for sig in _SIG_VALUE.finditer(query):
            self.learn_secret(sig.group(1), "sas")
        return m.group(1) + token("sas")

    def _bare_sig(self, m: re.Match[str]) -> str:
        return m.group(0) if not _is_value(m.group(2)) else m.group(1) + self._secret(m.group(2), "sas")

    def _wrapped_tail(self, m: re.Match[str]) -> str:
        """The rest of a value that ran to a line end, at the start of the next line: removed too."""
        if m.group(3) is None and not _ENCODED_LOOK.search(m.group(4)):
            return m.group(0)  # an indented word is the next line's own text; a wrap starts at column 0
        return m.group(1) + m.group(2)

    def _flag(self, m: re.Match[str]) -> str:
        dashes, name, value = m.group(1), m.group(2), m.group(5)
        if dashes == "/" and m.group(4) is None:
            return m.group(0)  # a Windows switch takes its value after a colon: /p:X
        bare = value.strip("\"'")
        if name in ("p", "P") and dashes == "-":
            kind = None if _PORT_OR_PATH.fullmatch(bare) else "password"
        elif name in ("u", "user") and ":" in bare and not bare.startswith(("/", "http")):
            user, _, password = bare.partition(":")  # curl -u user:password
            if not _is_value(password):
                return m.group(0)
            self.by_kind["password"] += 1
            return m.group(0)[: m.start(5) - m.start()] + user + ":" + self._secret(password, "password")
        else:
            kind = secret_kind(name)
        if kind is None or not _is_value(bare):
            return m.group(0)
        self.by_kind[kind] += 1
        return m.group(0)[: m.start(5) - m.start()] + self._secret(bare, kind)

    def _commands(self, s: str) -> str:
        """Commands that take a password as an argument or on their standard input."""
        s = self._sub(_ATTACHED_P, s, "password", lambda m: _replace_group(m, 1, self._secret(m.group(1), "password")))
        s = self._sub(_SECURE_STRING, s, "password",
                      lambda m: _replace_group(m, 1, self._secret(m.group(1).strip("\"'"), "password")))
        s = self._sub(_PIPED_PASSWORD, s, "password", self._piped)
        s = self._sub(_HERE_PASSWORD, s, "password",
                      lambda m: _replace_group(m, 3, self._secret(m.group(3), "password")))
        return self._sub(_NET_USER, s, "password",
                         lambda m: _replace_group(m, 2, self._secret(m.group(2).strip('"'), "password")))

    def _piped(self, m: re.Match[str]) -> str:
        value = m.group(2)
        user, colon, password = value.partition(":")  # chpasswd reads user:password
        secret = password if colon and " " not in user else value
        if not _is_value(secret):
            return m.group(0)
        kept = user + colon if secret is password else ""
        return _replace_group(m, 2, kept + self._secret(secret, "password"))

    def _reg_value(self, m: re.Match[str]) -> str:
        kind = secret_kind(m.group(1))
        if kind is None or not _is_value(m.group(2)):
            return m.group(0)
        self.by_kind[kind] += 1
        return _replace_group(m, 2, self._secret(m.group(2).strip(), kind))

    def _pem(self, s: str) -> str:
        """Remove every private-key block whole: BEGIN..END, BEGIN..end of text, start of text..END."""
        out: list[str] = []
        pos = 0
        while True:
            begin = _PEM_BEGIN.search(s, pos)
            end = _PEM_END.search(s, pos)
            if begin is None and end is None:
                break
            if begin is None or (end is not None and end.start() < begin.start()):
                assert end is not None
                out.append(token("private-key"))  # the tail of a block that started before this text
                pos = end.end()
            else:
                out.append(s[pos:begin.start()] + token("private-key"))
                close = _PEM_END.search(s, begin.end())
                pos = close.end() if close else len(s)
            self.by_kind["private-key"] += 1
        return "".join(out) + s[pos:] if out else s

    def _kv(self, s: str) -> str:
        out: list[str] = []
        pos = 0
        search_from = 0
        while (m := _KV.search(s, search_from)) is not None:
            kind = secret_kind(m.group(1))
            if kind is None:
                search_from = m.end(1)
                continue
            start, end = _value_span(s, m.end(), m.group(3))
            value = s[start:end]
            if _is_value(value):
                out.append(s[pos:start] + self._secret(value, kind))
                self.by_kind[kind] += 1
                pos = end
            search_from = max(end, m.end())
        return "".join(out) + s[pos:] if out else s

    def _pairs(self, s: str) -> str:
        """``{"name": "ClientSecret", "value": "..."}``: the value of a pair named by a secret key."""
        out: list[str] = []
        pos = 0
        for m in _NAME_VALUE.finditer(s):
            kind = secret_kind(m.group(1).strip())
            if kind is None or m.start() < pos:
                continue
            start, end = _value_span(s, m.end(), m.group(2))
            value = s[start:end]
            if _is_value(value):
                out.append(s[pos:start] + self._secret(value, kind))
                self.by_kind[kind] += 1
                pos = end
        return "".join(out) + s[pos:] if out else s

    def _xml(self, s: str) -> str:
        """Element text named by its tag (``<Password>``), by a name attribute (``<Data Name='Password'>``), or
        ``value=`` of a named element (``<add key="Password" value="..."/>``); ``<Data>`` base64 payloads."""
        out: list[str] = []
        pos = 0
        search_from = 0
        while (m := _TAG.search(s, search_from)) is not None:
            search_from = m.end()
            if m.start() < pos:
                continue
            tag, attrs, closed, escaped = m.group(2), m.group(3), m.group(4) == "/", m.group(1) == "&lt;"
            named = (_named_attribute(attrs) or secret_kind(tag)) if attrs else None
            if named is not None:  # a value attribute in the tag itself
                replaced = self._value_attribute(attrs, named)
                if replaced is not None:
                    out.append(s[pos:m.start(3)] + replaced)
                    pos = m.end(3)
            kind = named or secret_kind(tag)
            data = tag.lower() == "data" and named is None
            if closed or (kind is None and not data):
                continue
            start = m.end()
            child = _XML_VALUE_CHILD.match(s, start)
            if child:  # <Password><Value>secret</Value></Password> in unattend files
                start = child.end()
            end = _find_any(s, "<&" if escaped else "<", start)
            value = s[start:end]
            if data:
                if not _BASE64_DATA.fullmatch(value):
                    continue
                kind = "encrypted-blob"
            if kind is not None and _is_value(value.strip()):
                out.append(s[pos:start] + self._secret(value.strip(), kind))
                self.by_kind[kind] += 1
                pos = end
                search_from = max(search_from, end)
        return "".join(out) + s[pos:] if out else s

    def _value_attribute(self, attrs: str, kind: str) -> str | None:
        def repl(m: re.Match[str]) -> str:
            if m.group(1).lower().rpartition(":")[2] not in _PAIR_VALUES:
                return m.group(0)
            value = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
            if not _is_value(value or ""):
                return m.group(0)
            self.by_kind[kind] += 1
            return m.group(0).replace(value, self._secret(value, kind), 1)

        out = _ATTR.sub(repl, attrs)
        return out if out != attrs else None

    # --- identifying -----------------------------------------------------------------------------
    def _mask(self, kind: str, value: str) -> str:
        table = self._tokens.setdefault(kind, {})
        key = value.lower()
        if key not in table:
            table[key] = f"<{kind}-{len(table) + 1}>"
        self.by_kind[kind] += 1
        return table[key]

    def _ipv4(self, m: re.Match[str]) -> str:
        ip = m.group(0)
        if ip in _KEEP_IPS or _VERSION_CONTEXT.search(m.string, max(0, m.start() - 12), m.start()):
            return ip
        return self._mask("ip", ip)

    def _ipv6(self, m: re.Match[str]) -> str:
        ip = m.group(0)
        return ip if ip in ("::", "::1") else self._mask("ip", ip)


class _KnownSecrets:
    """Values learned as secrets, found in any text at once (Aho-Corasick: linear in the text, whatever their
    number); at most :data:`_MAX_KNOWN` of them, so a bundle full of distinct secrets cannot grow it."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}
        self._automaton: Any = None
        self._gate: bool | None = None  # None: search every text; False: the current record holds none

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def __contains__(self, value: str) -> bool:
        return value in self.kinds

    def add(self, form: str, kind: str) -> None:
        if form not in self.kinds and len(self.kinds) < _MAX_KNOWN:
            self.kinds[form] = kind
            self._automaton = None

    def _search(self, s: str) -> list[tuple[int, str]]:
        if self._automaton is None:
            import ahocorasick

            self._automaton = ahocorasick.Automaton()
            for form in self.kinds:
                self._automaton.add_word(form, form)
            self._automaton.make_automaton()
        return list(self._automaton.iter_long(s))

    def gate(self, record: str | None) -> None:
        """Before the fields of one record: whether any learned value is in it at all (``None`` lifts the gate)."""
        if record is None or not self.kinds:
            self._gate = None if record is None else False
            return
        self._gate = any(self._search(level) for level in decodings(record))

    def sub(self, s: str, counts: Counter[str]) -> str:
        if not self.kinds or self._gate is False or not s:
            return s
        hits = self._search(s)
        if not hits:
            return s
        out: list[str] = []
        pos = 0
        for end, form in hits:  # longest, non-overlapping, in order
            start = end - len(form) + 1
            kind = self.kinds[form]
            counts[kind] += 1
            out.append(s[pos:start] + token(kind))
            pos = end + 1
        return "".join(out) + s[pos:]


_PAIR_NAMES = ("name", "key", "Name", "Key", "@Name", "@name", "#name")
_PAIR_VALUES = {"value", "Value", "data", "Data", "#text", "$", "value_data"}


def _secret_pair_name(d: dict[Any, Any]) -> str | None:
    """The kind of a ``{"name": <a secret key>, "value": ...}`` pair, else ``None``."""
    for k in _PAIR_NAMES:
        name = d.get(k)
        if isinstance(name, str) and len(name) <= 80 and any(v in d for v in _PAIR_VALUES):
            return secret_kind(name)
    return None


def _named_attribute(attrs: str) -> str | None:
    """The kind named by a ``Name=``/``key=``/``id=`` attribute of a tag, else ``None``."""
    for m in _ATTR.finditer(attrs):
        if m.group(1).lower().rpartition(":")[2] in ("name", "key", "id"):
            value = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
            kind = secret_kind(value or "")
            if kind is not None:
                return kind
    return None


def _replace_group(m: re.Match[str], group: int, text: str) -> str:
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    whole = m.group(0)
    return whole[:start] + text + whole[end:]


def _value_span(s: str, at: int, quote_: str | None) -> tuple[int, int]:
    """Where the value after a ``key:`` or ``key=`` starts and ends (an empty value at a line end: the next line)."""
    if quote_ is None:
        v = _UNQUOTED_VALUE.match(s, at)
        if v is None:
            nxt = _NEXT_LINE_VALUE.match(s, at)
            return (nxt.start(1), nxt.end(1)) if nxt else (at, at)
        return at, v.end()
    closing = "&quot;" if quote_ == "&quot;" else quote_.lstrip("\\")
    end = s.find(closing, at, at + _MAX_VALUE)
    if end < 0:
        end = _find_any(s, "\n\r", at)
    while end > at and s[end - 1] == "\\":
        end -= 1
    return at, end


def _find_any(s: str, chars: str, at: int) -> int:
    ends = [i for i in (s.find(c, at) for c in chars) if i >= 0]
    return min([*ends, len(s), at + _MAX_VALUE])


def _is_value(value: str) -> bool:
    v = value.strip().strip("\"'").strip()
    return v.lower() not in _NOT_A_VALUE and not v.startswith("<redacted")


def _is_secret_value(v: Any) -> bool:
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, str):
        return _is_value(v)
    if isinstance(v, int | float):
        return True
    if isinstance(v, list | tuple):
        return any(_is_secret_value(x) for x in v)
    return False


# --- applying it to a whole report --------------------------------------------------------------
def _walk(obj: Any, fn: Callable[[str], str], values: Callable[[dict[Any, Any]], dict[Any, Any]] | None = None
          ) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, list):
        return [_walk(x, fn, values) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(x, fn, values) for x in obj)
    if isinstance(obj, dict):
        return values(obj) if values is not None else {k: _walk(v, fn, values) for k, v in obj.items()}
    if is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            # a message key is ours, not the bundle's; a version field (BundleInfo.agent_version) is no address
            if not f.metadata.get("verbatim") and not (values is not None and "version" in f.name.lower()):
                setattr(obj, f.name, _walk(getattr(obj, f.name), fn, values))
        return obj
    return obj


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list | tuple):
        for x in obj:
            yield from _strings(x)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            if not f.metadata.get("verbatim"):
                yield from _strings(getattr(obj, f.name))


def redact_report(report: Any, obfuscate: bool = False, redactor: Redactor | None = None) -> Redactor:
    """Redact every string of ``report`` in place (extras included) and set ``report.redactions``.

    Two passes: the first redacts by pattern and by key and learns every value it removed; the second
    removes those values wherever else they appear (a password that an event's data names, repeated in a
    message rendered from it). Pass a ``redactor`` to share consistent masking tokens across several
    reports (a batch database).
    """
    r = redactor or Redactor(obfuscate=obfuscate)
    r.obfuscate = r.obfuscate or obfuscate
    before = r.by_kind.copy()
    report.redactions = {"count": 0, "by_kind": {}}
    for obj in _dicts(report):
        r.learn_keyed(obj)
    _walk(report, r.secrets, lambda d: r._value(d, mask=False))
    if r._known:
        _walk(report, lambda s: r._known.sub(s, r.by_kind))
    if r.obfuscate:
        bundle = getattr(report, "bundle", None)
        if bundle is not None and bundle.host:
            r.learn_name(bundle.host, "host")
        host = getattr(report, "extras", {}).get("facts", {}).get("host.name")
        if host:
            r.learn_name(host, "host")
        r.learn(_strings(report))
        _walk(report, r.identifying, lambda d: _identifying_dict(r, d))
    report.redactions = r.summary(since=before)
    return r


def _dicts(obj: Any) -> Iterable[dict[Any, Any]]:
    if isinstance(obj, dict):
        yield obj
    elif isinstance(obj, list | tuple):
        for x in obj:
            yield from _dicts(x)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            if not f.metadata.get("verbatim"):
                yield from _dicts(getattr(obj, f.name))


def _identifying_dict(r: Redactor, d: dict[Any, Any]) -> dict[Any, Any]:
    out = {}
    for k, v in d.items():
        keep = isinstance(k, str) and "version" in k.lower()
        out[r.identifying(k) if isinstance(k, str) else k] = v if keep and isinstance(v, str) else _walk(
            v, r.identifying, lambda x: _identifying_dict(r, x))
    return out
