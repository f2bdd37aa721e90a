"""Synthetic bundles for the report tests: canary secrets in every file type, and XSS payloads.

Every canary is a unique token planted inside the secret part of a value (secrets.md 3-4); none may
appear in any output. Formats follow the shared reference (linux-formats.md, windows-formats.md).
"""

from __future__ import annotations

from pathlib import Path

CANARIES = {
    "waagent_http_req_sas": "CnryA1sasHttpReq",
    "waagent_status_sas": "CnryA2sasStatusPut",
    "waagent_json_sas": "CnryA3sasJsonEsc",
    "waagent_pem": "CnryA4pemBody",
    "waagent_proxy": "CnryA5proxyPw",
    "extconfig_protected": "CnryB1protSet",
    "extconfig_status_sas": "CnryB2statusBlob",
    "extconfig_artifacts_sas": "CnryB3artifacts",
    "ovf_password": "CnryC1userPw",
    "ovf_custom_data": "CnryC2customData",
    "hosting_account_key": "CnryD1accountKey",
    "settings_protected": "CnryE1protSettings",
    "settings_object_str": "CnryE2objectStr",
    "settings_logs_sas": "CnryE3logsBlob",
    "status_token": "CnryF1ddToken",
    "status_snapshot_sas": "CnryF2snapUri",
    "vmsnapshot_task_token": "CnryG1taskToken",
    "vmsnapshot_body_token": "CnryG2bodyToken",
    "vmsnapshot_blob_sas": "CnryG3blobSas",
    "conf_proxy": "CnryH1confProxy",
    "workload_cred": "CnryH2credString",
    "reg_sas": "CnryI1regSas",
    "certificates_data": "CnryJ1certData",
    "private_key_file": "CnryK1prvFile",
    "member_name_sas": "CnryL1nameSas",
}
C = CANARIES
THUMB = "F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9"
VMS = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


def _write(root: Path, rel: str, text: str, encoding: str = "utf-8") -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding=encoding, newline="")


def canary_bundle(root: Path) -> Path:
    """A Linux-layout folder bundle (plus a Windows .reg export) with a canary in every secret."""
    _write(root, "var/log/waagent.log", "\n".join([
        "2024-05-01T10:00:00.000001Z INFO ExtHandler ExtHandler WALinuxAgent-2.2.53.1 running as process 1853",
        "2024-05-01T10:01:00.000000Z VERBOSE ExtHandler ExtHandler HTTP Req: HEAD https://acct.blob.core.windows.net/"
        f"vhds/vm.status?sr=b&sp=rw&se=9999-01-01&sk=key1&sv=2014-02-14&sig={C['waagent_http_req_sas']}",
        "2024-05-01T10:02:00.000000Z WARNING ExtHandler ExtHandler Exception uploading status blob: [HTTP Failed] "
        f"HTTP PUT IOError timed out https://acct.blob.core.windows.net/vhds/vm.status?comp=block&sig="
        f"{C['waagent_status_sas']}",
        "2024-05-01T10:03:00.000000Z ERROR ExtHandler ExtHandler Inner error: [ProtocolError] [Wireserver Exception] "
        "[HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- "
        "6 attempts made",
        "2024-05-01T10:04:00.000000Z INFO ExtHandler ExtHandler Loaded transport key:",
        "-----BEGIN PRIVATE KEY-----",
        f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7{C['waagent_pem']}Xk",
        "q2Lr9QW3yJx0pF6bWm1dA8TzR5kGn4uVvYhS7eIcN0jPaD2oB9XtKfQ1lZsMwU3H",
        "-----END PRIVATE KEY-----",
        "2024-05-01T10:05:00.000000Z WARNING ExtHandler ExtHandler status https:\\/\\/a.blob.core.windows.net\\/c"
        f"?comp=block\\u0026sig={C['waagent_json_sas']}\\u0026se=1",
        f"2024-05-01T10:06:00.000000Z INFO ExtHandler ExtHandler Using proxy http://puser:{C['waagent_proxy']}"
        "@proxy.corp:3128",
        "2024-05-01T10:07:00.000000Z WARNING Daemon No route exists to 168.63.129.16",
        "",
    ]))
    _write(root, "var/lib/waagent/ExtensionsConfig.3.xml", f"""<Extensions version="1.0.0.0" goalStateIncarnation="3">
<Plugins>
  <Plugin name="{VMS}" version="1.0.9225.0" location="https://x.blob.core.windows.net/m.xml" state="enabled"
   autoUpgrade="false" runAsStartupTask="false" isJson="true" />
</Plugins>
<PluginSettings>
  <Plugin name="{VMS}" version="1.0.9225.0">
    <RuntimeSettings seqNo="0">{{"runtimeSettings":[{{"handlerSettings":{{"protectedSettingsCertThumbprint":"{THUMB}",\
"protectedSettings":"MIICWgYJK{C['extconfig_protected']}","publicSettings":{{"foo":"bar"}}}}}}]}}</RuntimeSettings>
  </Plugin>
</PluginSettings>
<StatusUploadBlob statusBlobType="BlockBlob">https://test.blob.core.windows.net/vhds/vm.status?sr=b&amp;sp=rw&amp;\
se=9999-01-01&amp;sk=key1&amp;sv=2014-02-14&amp;sig={C['extconfig_status_sas']}</StatusUploadBlob>
<InVMArtifactsProfileBlob>https://md-z9z.z38.blob.storage.azure.net/$system/vm01.vmSettings?sv=2018-03-28&amp;sr=b\
&amp;sk=system-1&amp;sig=9Zz%2f{C['extconfig_artifacts_sas']}%3d&amp;se=9999-01-01T00%3a00%3a00Z&amp;sp=r\
</InVMArtifactsProfileBlob>
</Extensions>
""")
    _write(root, "var/lib/waagent/ovf-env.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure">
  <wa:ProvisioningSection><wa:Version>1.0</wa:Version>
    <LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure">
      <ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>
      <HostName>canary-vm-01</HostName>
      <UserName>azureuser</UserName>
      <UserPassword>{C['ovf_password']}</UserPassword>
      <CustomData>I2Nsb3VkLWNvbmZpZwo{C['ovf_custom_data']}</CustomData>
    </LinuxProvisioningConfigurationSet>
  </wa:ProvisioningSection>
</Environment>
""")
    _write(root, "var/lib/waagent/HostingEnvironmentConfig.xml", f"""<HostingEnvironmentConfig version="1.0.0.0">
  <ApplicationSettings>
    <Setting name="Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString"
     value="DefaultEndpointsProtocol=http;AccountName=osimages;AccountKey={C['hosting_account_key']}==" />
  </ApplicationSettings>
</HostingEnvironmentConfig>
""")
    ext = f"var/lib/waagent/{VMS}-1.0.9225.0"
    _write(root, f"{ext}/config/0.settings", (
        '{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":"' + THUMB + '",'
        f'"protectedSettings":"MIIByAYJKoZIhvcNAQcDoIIBuTCCAbUCAQAx{C["settings_protected"]}",'
        f'"publicSettings":{{"locale":"en-us","taskId":"767baff0-3f1e-4363-a974-5d801189250d",'
        f'"objectStr":"eyJiYWNrdXBNZXRhZGF0YSI6{C["settings_object_str"]}",'
        f'"logsBlobUri":"https://x.blob.core.windows.net/logs/l.log?sv=2014-02-14&sr=b&sig={C["settings_logs_sas"]}",'
        '"commandToExecute":"snapshot","vmType":"microsoft.compute/virtualmachines"}}}]}'))
    _write(root, f"{ext}/status/0.status", (
        '[{"version":"1.0","timestampUTC":"2024-05-01T10:12:00Z","status":{"name":"' + VMS + '",'
        '"operation":"Enable","status":"error","code":"76","formattedMessage":{"lang":"en-US",'
        '"message":"snapshot failed"},"snapshotInfo":[{"snapshotUri":"https://md-x.blob.core.windows.net/c/abcd'
        f'?snapshot=2024-05-01T10:11:00Z&sv=2020&sig={C["status_snapshot_sas"]}","errorMessage":"",'
        f'"isSuccessful":"false","directDriveSnapshotIdentifier":{{"token":"{C["status_token"]}"}}}}],'
        '"substatus":[]}}]'))
    _write(root, f"var/log/azure/{VMS}/extension.log", "\n".join([
        f"2024-05-01 10:10:00.000000 [{VMS}-1.0]snapshotTaskToken : {C['vmsnapshot_task_token']}",
        f'2024-05-01 10:10:01.000000 [{VMS}-1.0]Host Request body : {{"taskId": "t1", "snapshotTaskToken": '
        f'"{C["vmsnapshot_body_token"]}"}}',
        f"2024-05-01 10:10:02.000000 [{VMS}-1.0]blobUri https://x.blob.core.windows.net/c/d?sv=2014&sr=b&sig="
        f"{C['vmsnapshot_blob_sas']}",
        f"2024-05-01 10:10:03.000000 [{VMS}-1.0]PreSnapshot: Status Code: 500",
        "",
    ]))
    _write(root, "etc/waagent.conf", "\n".join([
        "Extensions.Enabled=y",
        "AutoUpdate.Enabled=n",
        "Logs.Verbose=n",
        f"HttpProxy.Host=http://cuser:{C['conf_proxy']}@proxy.corp",
        "HttpProxy.Port=3128",
        "",
    ]))
    _write(root, "etc/azure/workload.conf", f"[workload]\nworkload_name = oracle\ncredString = {C['workload_cred']}\n")
    _write(root, "registry/BcdrAgent.reg", "\r\n".join([
        "Windows Registry Editor Version 5.00",
        "",
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]",
        '"ConnStr"="BlobEndpoint=https://x.blob.core.windows.net/;SharedAccessSignature=sv=2020-08-04&sr=c&sig='
        f'{C["reg_sas"]}"',
        '"LastSnapshotStatus"="Failed"',
        "",
    ]), encoding="utf-16")
    _write(root, "var/lib/waagent/Certificates.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<CertificateFile><Version>2012-11-30</Version><Incarnation>1</Incarnation><Format>Pkcs7BlobWithPfxContents</Format>
<Data>MIIOgwYJKoZIhvcNAQcDoIIOdDCCDnACAQIxggEwMIIBLAIBAoAU08PI+CBUqOd4
Nbte7MLw2qCYn1UwDQYJKoZIhvcNAQEBBQAEggEASTTfHNyY{C['certificates_data']}
</Data></CertificateFile>
""")
    _write(root, f"var/lib/waagent/{THUMB}.prv",
           f"-----BEGIN PRIVATE KEY-----\nMIIE{C['private_key_file']}\n-----END PRIVATE KEY-----\n")
    _write(root, f"var/log/upload?sv=2020&sig={C['member_name_sas']}.txt", "uploaded\n")
    return root


XSS_NAME = "<script>alert(1)</script>.log"
XSS_LINE = '<img src=x onerror=alert(1)>'


def xss_bundle(root: Path) -> Path:
    """A folder with a hostile file name and hostile log lines placed after real failure signatures."""
    _write(root, XSS_NAME, "hello\n")
    _write(root, "var/log/waagent.log", "\n".join([
        "2024-05-01T10:00:00.000001Z INFO ExtHandler ExtHandler WALinuxAgent-2.2.53.1 running as process 1853",
        "2024-05-01T10:03:00.000000Z ERROR ExtHandler ExtHandler Inner error: [ProtocolError] [Wireserver Exception] "
        "[HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- "
        f"6 attempts made {XSS_LINE}",
        f"2024-05-01T10:04:00.000000Z WARNING ExtHandler ExtHandler {XSS_LINE} </script><script>alert(2)</script>",
        "2024-05-01T10:07:00.000000Z WARNING Daemon No route exists to 168.63.129.16 "
        "<svg onload=alert(3)> \x1b]52;c;ZXZpbA==\x07",
        "",
    ]))
    return root
