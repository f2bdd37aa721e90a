"""Redaction of secrets, and optional masking of identifying data, in everything that leaves the tool.

The rules are the ones of the shared ``secrets.md``: pattern-based over the final text of every output
(never dependent on which parser ran), keep the shape (a SAS URL keeps scheme, host and path; a JSON
key keeps its name; an XML element keeps its tag), count by kind, never record a value.

Speed and safety: one combined prefilter decides whether a string can hold a secret at all; the
heavier patterns only run when it matched. Every pattern has bounded quantifiers and no nested
repetition, and the spans whose end is not known in advance (PEM blocks, quoted values, XML element
text) are found with plain ``str.find`` scans, so the cost stays linear in the input length.

Masking (``obfuscate=True``) replaces IPs, MACs, GUIDs, host, VM, resource-group and storage-account
names, and user names in home directories with consistent tokens (``<ip-1>``, ``<host-2>``...): the
same value gets the same token everywhere the same :class:`Redactor` sees it. The mapping stays inside
the object and is never written anywhere.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from typing import Any

_I = re.IGNORECASE
_MAX_VALUE = 1 << 20  # longest single value replaced in one piece; a longer one is cut there

ALREADY_REDACTED = "already-redacted"  # <redacted> and ***REDACTED*** written by the agent itself


def token(kind: str) -> str:
    return f"<redacted:{kind}>"


_SAS_KEYS = r"(?:sv|st|se|sr|sp|sip|spr|sig|sk|skoid|sktid|skt|ske|sks|skv)"
_B64 = "A-Za-z0-9+/"

# --- the prefilter: one pass over the lower-cased text for a literal that every secret pattern needs
# (a SAS is only secret with its signature, so "sig" gates all SAS forms); long base64 runs apart
_PREFILTER = re.compile(
    r"sig|accountkey|sharedaccess|protectedsettings|objectstr|token|passw|pwd|credstring|customdata|private key"
    r"|authorization|x-ms-|eyj|<data>|redacted|:(?:\\?/){2}[^\s@]{1,512}@"
)
_BASE64_48 = re.compile(rf"[{_B64}]{{48}}")


def _may_hold_secret(s: str) -> bool:
    return _PREFILTER.search(s.lower()) is not None or (len(s) >= 48 and _BASE64_48.search(s) is not None)


# --- secret patterns ------------------------------------------------------------------------------
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----", _I)
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----", _I)

_STORAGE_KEY = re.compile(r"(AccountKey|SharedAccessSignature|SharedAccessKey)([ \t]{0,3}=[ \t]{0,3})"
                          r"([^;\"'<>\s\\]{1,4096})", _I)
# a URL query (after ``?`` or its encoded ``%3F``); JSON-escaped ``\u0026`` and ``\/`` stay inside it
_QUERY = re.compile(r"(\?|%3f)((?:[^\s\"'<>\\]|\\u0026|\\/){1,65536})", _I)
_SAS_PARAM = re.compile(rf"(?:\A|&amp;|&|%26|\\u0026|;){_SAS_KEYS}(?:=|%3d)", _I)
_BARE_SIG = re.compile(r"(?:(?<![A-Za-z0-9_])|(?<=%26)|(?<=u0026))(sig(?:=|%3d))([^\s\"'<>&\\]{1,4096})", _I)
_AUTH_HEADER = re.compile(r"(Authorization[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']?"
                          r"(?:(?:Bearer|Basic|SharedKey|SharedAccessSignature)[ \t]{1,5})?)([^\s\"',;]{1,8192})", _I)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{0,8192}")
_PROXY_CRED = re.compile(r"([a-z][a-z0-9+.-]{0,15}:(?:\\?/){2})([^\s:/@\"'<>\\]{1,256}):([^\s@\"'<>\\]{1,256})@", _I)

# secret values named by a key: JSON, Python-repr, INI/conf and log forms, and XML elements
_KEYS = (r"protectedSettings|objectStr|customData|credString|AccountKey|[A-Za-z_]{0,30}token"
         r"|[A-Za-z_]{0,30}passw(?:or)?d|(?-i:pwd)|x-ms-[a-z-]{0,40}(?:key|authorization|signature|secret)")
_KV = re.compile(rf"(?<![A-Za-z0-9_])({_KEYS})(\\{{0,3}}[\"']|&quot;)?[ \t]{{0,5}}(?:=>|[:=])[ \t]{{0,5}}"
                 rf"(\\{{0,3}}[\"']|&quot;)?", _I)
_XML_KEYS = r"protectedSettings|objectStr|CustomData|credString|\w{0,30}Password|\w{0,30}Token|Data"
_XML = re.compile(rf"(<|&lt;)(?!redacted:)(?:[\w.-]{{1,40}}:)?({_XML_KEYS})(?:\s[^<>]{{0,512}}?)?(?<!/)(>|&gt;)", _I)
_XML_VALUE_CHILD = re.compile(r"\s{0,200}<(?:[\w.-]{1,40}:)?Value>", _I)
_UNQUOTED_VALUE = re.compile(r"[^\s,;&<>\"'\\)\]}]{1,65536}")
_NOT_A_VALUE = {"", "*", "null", "none", "true", "false", "y", "n", "yes", "no",
                "redacted", "<redacted>", "***redacted***"}
_BASE64_DATA = re.compile(rf"[{_B64}=\s]{{64,1048576}}")
_BASE64_RUN = re.compile(rf"[{_B64}]{{100,65536}}={{0,2}}")
_BASE64_LINE = re.compile(rf"\s{{0,20}}[{_B64}]{{48,99}}={{0,2}}\s{{0,20}}")
# encoded bytes nearly always hold a digit, "+" or "/" (48 random base64 characters lack all three with
# probability 5e-5); a run of letters only is a word or an identifier such as an Azure error-code name
_B64_SYMBOL = re.compile(r"[0-9+/]")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_PRE_REDACTED = re.compile(r"<redacted>|\*\*\*REDACTED\*\*\*", _I)

# --- identifying data (masked with obfuscate=True) ----------------------------------------------
_KEEP_IPS = {"168.63.129.16", "169.254.169.254", "127.0.0.1", "0.0.0.0", "255.255.255.255"}
_GUID = re.compile(r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
                   r"(?![0-9A-Fa-f-])")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_SID = re.compile(r"(?<![\w-])S-1-5-21(?:-\d{1,10}){3,4}(?![\w-])")
_MAC = re.compile(r"(?<![\w:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])")
_IPV4 = re.compile(r"(?<![\w.-])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
                   r"(?![\w-]|\.\d)")
_VERSION_CONTEXT = re.compile(r"(?:version|ver|agent|v)[\s:=\"']{0,3}\Z", _I)
_IPV6 = re.compile(r"(?<![\w:.])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
                   r"|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?"
                   r"|::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}))(?![\w:.])")
_STORAGE_HOST = re.compile(r"(?<![\w.-])([a-z0-9-]{3,63})(\.(?:blob|table|queue|file)\.(?:core\.windows\.net"
                           r"|storage\.azure\.net))", _I)
_CLOUDAPP = re.compile(r"(?<![\w.-])([\w-]{1,63}(?:\.[\w-]{1,63}){0,3})(\.internal\.cloudapp\.net)", _I)
_HOME_USER = re.compile(r"(/home/|\\Users\\|/Users/)([^/\\\s\"'<>]{1,64})")
# names worth learning before masking: host/computer/VM names, resource groups, user names
_NAME_FIELDS = re.compile(
    r"(?:<(?:[\w.-]{1,40}:)?(HostName|ComputerName|Computer|UserName|AdminUsername)>"
    r"|\"?(computerName|computer|vmName|resourceGroupName|hostname|osProfile\.computerName|adminUsername)\"?"
    r"[ \t]{0,3}[:=][ \t]{0,3}\"?)([A-Za-z0-9][A-Za-z0-9_.-]{1,62})",
    _I,
)
_USER_FIELDS = {"username", "adminusername"}


class Redactor:
    """Redacts secrets from text, counting replacements by kind; optionally masks identifying data."""

    def __init__(self, obfuscate: bool = False) -> None:
        self.obfuscate = obfuscate
        self.by_kind: Counter[str] = Counter()
        self._tokens: dict[str, dict[str, str]] = {}
        self._names: dict[str, str] = {}  # learned name (lower case) -> kind
        self._names_re: re.Pattern[str] | None = None

    # --- public ----------------------------------------------------------------------------------
    def text(self, s: str) -> str:
        s = self.secrets(s)
        return self.identifying(s) if self.obfuscate else s

    def value(self, obj: Any, mask: bool = True) -> Any:
        """A copy of a JSON-like value (strings, lists, tuples, dicts: keys and values) with every string redacted.

        Values under a key naming a version (``version``, ``agent_version``) are never masked as IPs:
        ``2.9.1.1`` there is an agent version, not an address.
        """
        if isinstance(obj, str):
            return self.text(obj) if mask else self.secrets(obj)
        if isinstance(obj, list | tuple):
            return [self.value(x, mask) for x in obj]
        if isinstance(obj, dict):
            return {self.value(k, mask): self.value(v, mask and not (isinstance(k, str) and "version" in k.lower()))
                    for k, v in obj.items()}
        return obj

    def secrets(self, s: str) -> str:
        if not s or not _may_hold_secret(s):
            return s
        self.by_kind[ALREADY_REDACTED] += len(_PRE_REDACTED.findall(s))
        s = self._pem(s)
        s = self._sub(_STORAGE_KEY, s, "storage-key", lambda m: m.group(1) + m.group(2) + token("storage-key"))
        s = self._sub(_QUERY, s, "sas", self._query)
        s = self._sub(_BARE_SIG, s, "sas", lambda m: m.group(1) + token("sas"))
        s = self._sub(_AUTH_HEADER, s, "token", lambda m: m.group(1) + token("token"))
        s = self._sub(_JWT, s, "token", lambda m: token("token"))
        s = self._sub(_PROXY_CRED, s, "password", lambda m: f"{m.group(1)}{m.group(2)}:{token('password')}@")
        s = self._xml(s)
        s = self._kv(s)
        s = self._sub(_BASE64_RUN, s, "base64-blob",
                      lambda m: token("base64-blob") if _B64_SYMBOL.search(m.group(0)) else m.group(0))
        if _BASE64_LINE.fullmatch(s) and _B64_SYMBOL.search(s) and not _HEX.fullmatch(s.strip()):
            self.by_kind["base64-blob"] += 1
            s = token("base64-blob")
        return s

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
        self._names_re = re.compile(rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])", _I)

    def summary(self, since: Counter[str] | None = None) -> dict[str, Any]:
        """``report.redactions``: ``count`` is what this tool replaced; pre-redacted values count apart.

        ``since``: a copy of ``by_kind`` taken earlier, to count one report of several.
        """
        counts = self.by_kind - since if since is not None else self.by_kind
        by_kind = {k: n for k, n in sorted(counts.items()) if n}
        return {"count": sum(n for k, n in by_kind.items() if k != ALREADY_REDACTED), "by_kind": by_kind}

    # --- secrets ---------------------------------------------------------------------------------
    def _sub(self, pattern: re.Pattern[str], s: str, kind: str,
             repl: Callable[[re.Match[str]], str]) -> str:
        def counted(m: re.Match[str]) -> str:
            out = repl(m)
            if out != m.group(0):
                self.by_kind[kind] += 1
            return out

        return pattern.sub(counted, s)

    def _query(self, m: re.Match[str]) -> str:
        return m.group(1) + token("sas") if _SAS_PARAM.search(m.group(2)) else m.group(0)

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
            start, end = self._value_span(s, m.end(), m.group(3))
            value = s[start:end]
            if _is_value(value):
                kind = _kind_of_key(m.group(1))
                out.append(s[pos:start] + token(kind))
                self.by_kind[kind] += 1
                pos = end
            search_from = max(end, m.end())
        return "".join(out) + s[pos:] if out else s

    def _xml(self, s: str) -> str:
        out: list[str] = []
        pos = 0
        search_from = 0
        while (m := _XML.search(s, search_from)) is not None:
            start = m.end()
            child = _XML_VALUE_CHILD.match(s, start)
            if child:  # <Password><Value>secret</Value></Password> in unattend files
                start = child.end()
            stops = "<&" if m.group(1) == "&lt;" else "<"
            end = _find_any(s, stops, start)
            value = s[start:end]
            key = m.group(2).lower()
            if key == "data" and not _BASE64_DATA.fullmatch(value):
                value = ""
            if _is_value(value.strip()):
                kind = "encrypted-blob" if key == "data" else _kind_of_key(key)
                out.append(s[pos:start] + token(kind))
                self.by_kind[kind] += 1
                pos = end
            search_from = max(end, m.end())
        return "".join(out) + s[pos:] if out else s

    @staticmethod
    def _value_span(s: str, at: int, quote: str | None) -> tuple[int, int]:
        """Where the value after a ``key:`` or ``key=`` starts and ends."""
        if quote is None:
            v = _UNQUOTED_VALUE.match(s, at)
            return at, v.end() if v else at
        closing = "&quot;" if quote == "&quot;" else quote.lstrip("\\")
        end = s.find(closing, at, at + _MAX_VALUE)
        if end < 0:
            end = _find_any(s, "\n\r", at)
        while end > at and s[end - 1] == "\\":
            end -= 1
        return at, end

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


def _find_any(s: str, chars: str, at: int) -> int:
    ends = [i for i in (s.find(c, at) for c in chars) if i >= 0]
    return min([*ends, len(s), at + _MAX_VALUE])


def _is_value(value: str) -> bool:
    v = value.strip()
    return v.lower() not in _NOT_A_VALUE and not v.startswith("<redacted")


def _kind_of_key(key: str) -> str:
    k = key.lower()
    if k == "protectedsettings":
        return "protected-settings"
    if k == "objectstr":
        return "object-str"
    if k == "customdata":
        return "custom-data"
    if k == "accountkey":
        return "storage-key"
    if k.endswith("token") or k.startswith("x-ms-"):
        return "token"
    return "password"


# --- applying it to a whole report --------------------------------------------------------------
def _walk(obj: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, list):
        return [_walk(x, fn) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {k: _walk(v, fn) for k, v in obj.items()}
    if is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            if not f.metadata.get("verbatim"):  # a message key: ours, not the bundle's
                setattr(obj, f.name, _walk(getattr(obj, f.name), fn))
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

    Pass a ``redactor`` to share consistent masking tokens across several reports (a batch database).
    """
    r = redactor or Redactor(obfuscate=obfuscate)
    r.obfuscate = r.obfuscate or obfuscate
    before = r.by_kind.copy()
    report.redactions = {"count": 0, "by_kind": {}}
    _walk(report, r.secrets)
    if r.obfuscate:
        bundle = getattr(report, "bundle", None)
        if bundle is not None and bundle.host:
            r.learn_name(bundle.host, "host")
        host = getattr(report, "extras", {}).get("facts", {}).get("host.name")
        if host:
            r.learn_name(host, "host")
        r.learn(_strings(report))
        _walk(report, r.identifying)
    report.redactions = r.summary(since=before)
    return r
