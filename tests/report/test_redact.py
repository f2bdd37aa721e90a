"""Redaction: every secret form of secrets.md, counts by kind, consistent masking, linear time on hostile input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model import say
from analyzer.redact import Redactor, redact_report
from tests.report.builders import finding, sample_report, validated

S = "Zq9SECRETx7"  # a canary inside each secret below


@pytest.mark.parametrize(("text", "kind", "kept"), [
    # SAS in every encoding
    (f"HTTP Req: HEAD https://acct.blob.core.windows.net/vhds/x.status?sr=b&sp=rw&se=9999&sig={S} ok", "sas",
     "https://acct.blob.core.windows.net/vhds/x.status?"),
    (f"<Blob>https://a.blob.core.windows.net/v/x.status?sr=b&amp;sp=rw&amp;sig={S}</Blob>", "sas", "<Blob>"),
    (f"u=https%3A%2F%2Fa.blob.core.windows.net%2Fc%2Fd%3Fsv%3D2018%26sig%3D{S} end", "sas", " end"),
    (f'{{"u": "https:\\/\\/a.blob.core.windows.net\\/c?comp=block\\u0026sig={S}\\u0026se=1"}}', "sas",
     "a.blob.core.windows.net"),
    (f"http://a.blob.core.windows.net/c/d?comp=block&sv=1&sig={S}", "sas", "http://a.blob.core.windows.net/c/d?"),
    (f"retrying with sig={S} later", "sas", "later"),
    (f"sig%3d{S}", "sas", ""),
    # keys, settings, tokens, passwords
    (f'"protectedSettingsCertThumbprint":"F6AB","protectedSettings":"MIIC{S}"', "protected-settings", '"F6AB"'),
    (f"{{'objectStr': 'eyJh{S}', 'x': 1}}", "object-str", "'x': 1"),
    (f"snapshotTaskToken : {S} next", "token", " next"),
    (f'Host Request body : {{"taskId": "t1", "snapshotTaskToken": "{S}"}}', "token", '"taskId": "t1"'),
    (f'\\"directDriveSnapshotIdentifier\\": {{\\"token\\": \\"{S}\\"}}', "token", "directDriveSnapshotIdentifier"),
    (f"Authorization: Bearer {S}", "token", "Authorization: Bearer "),
    (f"{{'x-ms-version': '2018-03-28', 'x-ms-encryption-key': '{S}'}}", "token", "'x-ms-version': '2018-03-28'"),
    (f"DefaultEndpointsProtocol=http;AccountName=osimages;AccountKey={S}==;EndpointSuffix=x", "storage-key",
     "EndpointSuffix=x"),
    (f'"Conn"="BlobEndpoint=https://x.blob.core.windows.net/;SharedAccessSignature=sv=2020&sig={S}"', "storage-key",
     "BlobEndpoint=https://x.blob.core.windows.net/;"),
    (f"<UserPassword>{S}</UserPassword>", "password", "</UserPassword>"),
    (f"&lt;UserPassword&gt;{S}&lt;/UserPassword&gt;", "password", "</UserPassword>"),  # leaves decoded
    (f"<unattend><AdministratorPassword>\n  <Value>{S}</Value>", "password", "<Value>"),
    (f"<CustomData>{S}</CustomData>", "custom-data", "<CustomData>"),
    (f"credString={S}", "password", "credString="),
    (f"HttpProxy.Host=http://bob:{S}@proxy.corp:3128", "password", "@proxy.corp:3128"),
    (f'{{"adminPassword": "{S}"}}', "password", "adminPassword"),
    (f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{S}\n-----END RSA PRIVATE KEY----- after", "private-key", " after"),
    (f"-----BEGIN PRIVATE KEY-----\\nMIIE{S}\\n", "private-key", ""),
    (f"MIIE{S}\n-----END ENCRYPTED PRIVATE KEY-----", "private-key", ""),
    (f"<Data>{'MIIOgwYJKoZIhvcNAQcDoIIOdDCCDnACAQIxggEwMIIBLAIBAoAU08PI+CBUqOd4'}\n{S}\n</Data>", "encrypted-blob",
     "<Data>"),
    ("Q" * 20 + S + "A" * 80, "base64-blob", ""),
])
def test_each_secret_form(text: str, kind: str, kept: str) -> None:
    r = Redactor()
    out = r.text(text)
    assert S not in out
    assert kept in out
    assert r.by_kind[kind] >= 1
    assert f"<redacted:{kind}>" in out


@pytest.mark.parametrize("text", [
    "agent version 2.2.53.1 contacts 168.63.129.16 on port 32526",
    "<UserPassword>*</UserPassword> <UserPassword>REDACTED</UserPassword>",
    "DisableSshPasswordAuthentication>false< PasswordAuthentication no",
    "protectedSettingsCertThumbprint: F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9",
    "Provisioning.DeleteRootPassword=n",
    "GET http://168.63.129.16/machine/?comp=goalstate",
    "https://md-x.blob.core.windows.net/c/abcd?snapshot=2019-06-06T23:53:14.9090608Z",
])
def test_evidence_without_secrets_is_kept(text: str) -> None:
    r = Redactor()
    assert r.text(text) == text
    assert sum(r.by_kind.values()) == 0


def test_json_like_values_are_redacted_at_any_depth() -> None:
    r = Redactor()
    out = r.value({"urls": [f"https://a.blob.core.windows.net/c?sig={S}1", ("x", f"AccountKey={S}2")],
                   f"password={S}3": {"n": 1, "deep": [[f"<CustomData>{S}4</CustomData>", f"again {S}1"]]}})
    assert S not in repr(out)
    assert out["urls"][1][0] == "x" and out["password=<redacted:password>"]["n"] == 1
    # each occurrence counted once, as the kind its value was first found as
    assert r.by_kind["sas"] == 2 and r.by_kind["storage-key"] == 1 and r.by_kind["custom-data"] == 1


def test_already_redacted_values_count_apart() -> None:
    r = Redactor()
    r.text("https://x.blob.core.windows.net/c.status?<redacted> and ***REDACTED*** and sig=abc")
    s = r.summary()
    assert s["by_kind"] == {"already-redacted": 2, "sas": 1}
    assert s["count"] == 1


def test_reference_samples(refdata: Path) -> None:
    """The shared samples with fake secrets (secrets.md 5): no secret value survives, counts by kind as expected."""
    linux = refdata / "linux"
    cases = {
        "wire/ExtensionsConfig.9.sample.xml": ({"sas": 1, "protected-settings": 1}, ["hfRh7gzUE7", '"MIICWgYJK"']),
        "wire/ExtensionsConfig.redaction-sample.xml": ({"sas": 2, "protected-settings": 3},
                                                       ["sig=9Zz", "IsZAEZFidXVFB"]),
        "hostgaplugin/VmSettings.sample.json": ({"sas": 1, "protected-settings": 3}, ["sig=", "MIIC4AYJ"]),
        "wire/HostingEnvironmentConfig.sample.xml": ({"storage-key": 1}, ["DNZQ"]),
        "wire/ovf-env.sample.xml": ({"password": 1, "custom-data": 1},
                                    ["<UserPassword>UserPassword", "<CustomData>CustomData"]),
        "wire/Certificates.sample.xml": ({"encrypted-blob": 1}, ["MIIOgwYJ", "Nbte7MLw2qCYn1Uw"]),
        "extension/0.settings.sample": ({"protected-settings": 1}, ["MIIByAYJ"]),
    }
    for name, (kinds, leaks) in cases.items():
        r = Redactor()
        out = r.text((linux / name).read_text(encoding="utf-8"))
        for leak in leaks:
            assert leak not in out, (name, leak)
        for kind, n in kinds.items():
            assert r.by_kind[kind] == n, (name, kind, dict(r.by_kind))


def test_line_by_line_pem_and_certificate_bodies(refdata: Path) -> None:
    """Evidence is often one line of a multi-line secret: bare base64 body lines are removed too."""
    r = Redactor()
    lines = (refdata / "linux/wire/Certificates.sample.xml").read_text(encoding="utf-8").splitlines()
    body = [ln for ln in lines if re.fullmatch(r"[A-Za-z0-9+/=]{60,}", ln.strip())]
    assert len(body) > 10
    assert all(r.text(ln).strip() == "<redacted:base64-blob>" for ln in body)
    assert r.text("F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9") == "F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9"


def test_masking_is_consistent_and_keeps_platform_constants() -> None:
    r = Redactor(obfuscate=True)
    r.learn(["<HostName>web-vm-01</HostName>"])
    a = r.text("10.0.0.4 talks to 168.63.129.16; web-vm-01 at 10.0.0.4, WALinuxAgent-2.2.53.1")
    b = r.text("WEB-VM-01 id 0f8fad5b-d9cb-469f-a165-70867728950e mac 00:0d:3a:12:34:56 10.0.0.5 /home/alice/x "
               "0f8fad5b-d9cb-469f-a165-70867728950e")
    assert a == "<ip-1> talks to 168.63.129.16; <host-1> at <ip-1>, WALinuxAgent-2.2.53.1"
    assert b == "<host-1> id <guid-1> mac <mac-1> <ip-2> /home/<user-1>/x <guid-1>"
    assert r.text("UserID S-1-5-21-3623811015-3361044348-30300820-1013 S-1-5-18") == "UserID <sid-1> S-1-5-18"
    c = r.text("https://md-abc123.blob.core.windows.net/c and vm1.x.internal.cloudapp.net")
    assert c == "https://<storage-1>.blob.core.windows.net/c and <domain-1>.internal.cloudapp.net"
    assert r.text("web-vm-01_evt_System.evtx web-vm-01.x.internal.cloudapp.net") == (
        "<host-1>_evt_System.evtx <host-1>.x.internal.cloudapp.net")


def test_redact_report_walks_everything_and_masks_learned_names() -> None:
    leak = "https://a.blob.core.windows.net/c?sv=1&sig=" + S
    f = finding("SNAPSHOT_TIMEOUT", "error", f"title {leak}", texts=(f"evidence {leak}", "host web-vm-01"))
    report = sample_report([f], host="web-vm-01", name=f"bundle.zip?sig={S}")
    report.sources[0].problems.append(say("problem.at_line", line=3, problem=say("problem.csv_error", error=leak)))
    report.missing_evidence[0].collect = f"curl '{leak}'"
    report.extras["facts"]["host.name"] = "web-vm-01"
    redact_report(report, obfuscate=True)
    validated(report)
    text = repr(report)
    assert S not in text
    assert "web-vm-01" not in text
    assert report.bundle.host == "<host-1>"
    assert report.redactions["by_kind"]["sas"] == 5
    assert report.redactions["count"] == sum(v for k, v in report.redactions["by_kind"].items()
                                             if k != "already-redacted")


def test_shared_redactor_counts_each_report_alone() -> None:
    r = Redactor(obfuscate=True)
    one, two = sample_report(host="vm-one"), sample_report(host="vm-one")
    one.findings[0].evidence[0].text += " sig=abc"
    redact_report(one, redactor=r)
    redact_report(two, redactor=r)
    validated(one)
    validated(two)
    assert one.redactions["by_kind"]["sas"] == 1
    assert "sas" not in two.redactions["by_kind"]
    assert one.bundle.host == two.bundle.host == "<host-1>"


# Inputs that take a backtracking engine hours on a naive pattern (nested or overlapping quantifiers around
# separators, unterminated spans, long runs of a repeated prefix). A regression shows up as a CI timeout.
HOSTILE = [
    "https://a/b?" + "x&amp;" * 16_000 + "sig!",  # 2^n for the first draft's SAS pattern (1.5 s at n=22)
    "https://a/b?" + "x%26" * 25_000 + "sig!",
    "?" + "a&" * 50_000,
    "https://x/?" + "sv%26" * 20_000 + "!",
    "sig=" * 25_000,
    "<UserPassword " + " " * 100_000,
    "&lt;UserPassword&gt;" * 5_000,
    "password:" * 11_000,
    "token=\"" * 14_000,
    "https://" + "a:" * 50_000,
    "http://" + "a" * 100_000 + ":",
    "-----BEGIN PRIVATE KEY-----" * 3_500,
    "-----END PRIVATE KEY-----" * 4_000,
    "1." * 50_000,
    "00:" * 33_000,
    "::" * 50_000,
    "0-" * 50_000,
    "A" * 99 + "." + ("A" * 99 + ".") * 1_000,
    ("a" * 30 + "token ") * 2_800,
    "x.blob.core.windows.net" * 4_000,
    "\\" * 100_000,
    "eyJ" + "a." * 50_000,
    "<Data>" + "A" * 100_000,
    "aaaa-" * 20_000,
    # the key, flag, command and XML forms of issue 15
    "echo " * 20_000, "echo a" + " " * 60_000 + "| chpasswd", "mysql " * 12_000, "mysql -u" + " x" * 30_000,
    "<a b='c' " * 6_000, "<Data Name='Password'" + " x='1'" * 10_000, "&lt;a b=&quot;" * 8_000,
    "-p " * 30_000, "--password " * 9_000, "--a " * 25_000, "/p:" * 30_000,
    "name: 'password', value: " * 4_000, "{\"name\": \"x\", " * 5_000, "password=\n" * 10_000,
    "x    REG_SZ    " * 6_000, "ConvertTo-SecureString " * 4_000, "net user a " * 9_000,
    "%25" * 30_000, "\\u0026" * 15_000, "&amp;" * 20_000, "sig=a\n" * 15_000, "<redacted:sas>\n" * 6_000,
    "accountKey=" * 9_000, "a_b_c_d_e_f_g_h_i_j_k_l_" * 4_000 + "=",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_100k_inputs_complete(text: str) -> None:
    r = Redactor(obfuscate=True)
    r.learn(["<HostName>web-vm-01</HostName>"])
    out = r.text(text)
    assert isinstance(out, str)
    assert r.text(out) == out or "<redacted" in out  # a second pass finds nothing new to do


_SECRET_FORMS = [
    "https://a.blob.core.windows.net/c?sv=2020&sig={v}",
    "<UserPassword>{v}</UserPassword>",
    '"protectedSettings": "{v}"',
    "AccountKey={v};",
    "snapshotTaskToken : {v}",
    "http://u:{v}@proxy:3128",
]


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(max_size=40), suffix=st.text(max_size=40),
       value=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=8,
                     max_size=60),
       form=st.sampled_from(_SECRET_FORMS))
def test_property_secret_never_survives(prefix: str, suffix: str, value: str, form: str) -> None:
    value = "Zq9" + value  # never part of a replacement token
    out = Redactor().text(prefix + " " + form.format(v=value) + " " + suffix)
    assert value not in out.replace(prefix, "", 1).replace(suffix, "")


def test_long_identifiers_are_not_base64_blobs() -> None:
    """Azure error-code names are long runs of letters: data, not encoded secrets (found on a collect-logs zip)."""
    r = Redactor()
    for name in ("ManagedRPCreationFailedInCrpButExtensionSucceeded", "ExtensionInstallProviderCOMMemoryQuotaReached"):
        assert r.text(name) == name
    assert r.text("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w") == "<redacted:base64-blob>"
    assert r.by_kind["base64-blob"] == 1
