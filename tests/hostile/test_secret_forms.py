"""Secrets named by key, flag or command, in every encoding and position, never leave the redactor (issue 15 #1).

The generated lines come from :mod:`secret_forms`; the check is that no 8 characters of the secret survive, raw or
encoded (a wrapped tail or a half-decoded escape counts as a leak), and that the line around it is kept."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from secret_forms import ALPHABET, ENCODINGS, KEYED, KEYS, UNKEYED, WRAPPABLE, leaks, line, wrap

from analyzer.redact import Redactor

PREFIXES = ["", "2024-05-01T10:00:00.000000Z ERROR ExtHandler ExtHandler Command failed: ",
            '{"level": "error", "msg": "', "Jan  5 12:00:00 vm1 waagent[1853]: ",
            "[00001234] [05/01/2024 10:00:00.00] "]
SUFFIXES = ["", " (exit code 1)", '", "code": 76}', "\nnext line of the record", " -- 6 attempts made"]

# a generated value sharing 8 characters with the text around it (``Zq9snapshot0000`` under the key
# ``snapshotTaskToken``) would count the kept key as a leak: values are drawn apart from that text
_AROUND = " ".join([*KEYS, *PREFIXES, *SUFFIXES, *KEYED, *UNKEYED, "<redacted:"])
_AROUND += " " + _AROUND.lower()


def _apart(value: str, n: int = 8) -> bool:
    return not any(value[i:i + n] in _AROUND for i in range(len(value) - n + 1))


values = st.text(alphabet=ALPHABET, min_size=20, max_size=40).map(lambda v: "Zq9" + v).filter(_apart)


@settings(max_examples=1500, deadline=None)
@given(key=st.sampled_from(KEYS), form=st.sampled_from(KEYED + UNKEYED), value=values,
       encoding=st.sampled_from(sorted(ENCODINGS)), prefix=st.sampled_from(PREFIXES),
       suffix=st.sampled_from(SUFFIXES))
@example(key="password", form="{k}={v}", value="Zq9" + "a" * 20, encoding="plain", prefix="", suffix="")
@example(key="snapshotTaskToken", form='"{k}": "{v}"', value="Zq9Snapshot000000000000", encoding="html", prefix="",
         suffix="")
def test_a_secret_in_any_form_and_encoding_never_survives(key: str, form: str, value: str, encoding: str, prefix: str,
                                                          suffix: str) -> None:
    text = prefix + ENCODINGS[encoding](line(form, key, value)) + suffix
    out = Redactor().text(text)
    assert leaks(out, value) == [], (text, out)
    assert "<redacted:" in out


@settings(max_examples=600, deadline=None)
@given(key=st.sampled_from(KEYS), form=st.sampled_from(sorted(WRAPPABLE)), value=values,
       at=st.integers(min_value=1, max_value=60), prefix=st.sampled_from(PREFIXES))
def test_a_value_wrapped_onto_the_next_line_is_removed_whole(key: str, form: str, value: str, at: int,
                                                             prefix: str) -> None:
    text = wrap(prefix + line(form, key, value), value, min(at, len(value) - 1))
    out = Redactor().text(text)
    assert leaks(out, value) == [], (text, out)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(KEYS), value=values, encoding=st.sampled_from(sorted(ENCODINGS)))
@example(key="password", value="Zq9000000000000000PWD=2", encoding="html")  # a pattern matched inside the value
@example(key="password", value="Zq9000000000000000&amp;=a<b>", encoding="html-hex")
def test_a_value_named_in_structured_data_is_removed_from_every_field(key: str, value: str, encoding: str) -> None:
    """Event data (``<Data Name='Password'>``) arrives as attrs; the same value in the rendered message and the raw
    copy of the line is removed too, whatever their encoding."""
    row = {"message": f"Set credentials for bob to {value} (done)",
           "attrs": {"data": {key: value, "param2": "ok"}, "raw": ENCODINGS[encoding](f"set {value} now")}}
    out = Redactor().value(row)
    assert leaks(repr(out), value) == [], out
    assert out["attrs"]["data"]["param2"] == "ok"


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(KEYS), value=values, encoding=st.sampled_from(sorted(ENCODINGS)))
def test_a_learned_value_is_removed_from_later_records_in_any_encoding(key: str, value: str, encoding: str) -> None:
    """A value learned from one record's named data is removed from any later record, where it may appear only
    encoded (entities, percent, JSON escapes) and never under its key."""
    r = Redactor()
    r.value({"attrs": {"data": {key: value}}})
    out = r.value({"message": "done", "attrs": {"raw": ENCODINGS[encoding](f"set {value} now"), "n": 1}})
    assert leaks(repr(out), value) == [], out
    assert out["message"] == "done"


@pytest.mark.parametrize("text", [
    "Provisioning.DeleteRootPassword=n", "PasswordAuthentication no", "protectedSettingsCertThumbprint: F6ABAA61",
    "mkdir -p /var/lib/waagent/x", "ssh -p 2222 admin@host", "docker run -p 8080:80 image", "tokenType: Bearer",
    "keyName=key1", "secretName: my-secret", "SSH public key: ssh-rsa AAAAB3NzaC1yc2EAAAADAQABKEY= bob@x",
    "PWD=/var/lib/waagent", "Key=Start", "--password-stdin -u bob", "registryKey=HKLM\\SOFTWARE\\Microsoft",
    "GET http://168.63.129.16/machine/?comp=goalstate", "nameserver 10.0.0.4",
])
def test_text_without_a_secret_is_kept(text: str) -> None:
    r = Redactor()
    assert r.text(text) == text
    assert sum(r.by_kind.values()) == 0
