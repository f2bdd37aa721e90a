"""Seed cause 1 (no network access) and the DHCP part of seed cause 4: WireServer, storage, DHCP."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

from analyzer.detectors.base import Detector, Hit, Signature, fact_values, sig
from analyzer.detectors.scope import Scope, as_int
from analyzer.model import Analysis, say
from parsers.base import Event

WIRESERVER_IP = "168.63.129.16"
# the WireServer answered: a goal state fetched, errors recovered, or a stale goal state (HTTP 410) reported
_RECOVERY = ("wireserver.recovered", "goalstate.fetched", "goalstate.stale")
# the route or the lease to the WireServer is there after all (the agent then reaches it through them)
_ROUTE_FOUND = ("dhcp.ok", "wireserver.endpoint")
PROTOCOL_RETRIES = 10  # endpoint discovery retried this often (10 s apart): the agent cannot talk to the WireServer
#: ``[HTTP Retry] Attempt 2 of 3: ...`` says an attempt failed and the next one is being made: within this time the
#: agent writes the next attempt's retry or the request's failure, when that attempt fails too
RETRY_FOLLOW_UP = timedelta(minutes=2)
_NEIGHBOURS = 8  # records looked at on each side of a retry (a burst of them in one second stays linear)


class WireServerUnreachable(Detector):
    """Seed causes 1 and 4: the guest cannot reach 168.63.129.16 (goal state, HostGAPlugin, status)."""

    id = "WIRESERVER_UNREACHABLE"
    seed_cause = 1
    error_codes = ("GuestAgentSnapshotTaskStatusError", "UserErrorGuestAgentStatusUnavailable",
                   "VMAgentStatusCommunicationError", "BCMCrpInternalError")
    ext_codes = (15, 556)
    sources = ("agent_log", "vmsnapshot_log")
    facts = ("wireserver.endpoint",)
    recovery_kinds = _RECOVERY
    transient = True
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("L45-L53", "wireserver.error"),  # also Windows: GetVersions() and HostGAPlugin failures
        sig("ext-556", ("snapshot.status", "extension.status"), codes=(556,)),
        # L50: the 2.2.x agent's retries for a goal state that kept going stale ran out (linux-formats 6.E); the
        # WireServer answered each time (410), so it is context, never a failure to reach it (WALinuxAgent#2355)
        sig("L50", "goalstate.stale", where={"exhausted": "true"}, severity="info"),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        transient = _transient_retries([e for e in scope.events if e.kind == "wireserver.error"])
        hits = [h for h in self.match(scope, self.signatures) if (h.path, h.line) not in transient]
        for e in scope.events:
            if e.kind == "dhcp.error" and e.attrs.get("route") == "missing":  # L35: no route, nothing reaches it
                hits.append(Hit.of_event(e, "error", scope.live(e.ts, _RECOVERY + _ROUTE_FOUND), "L35"))
            elif e.kind == "protocol.retry" and (as_int(e.attrs.get("retry")) or 0) >= PROTOCOL_RETRIES:
                hits.append(Hit.of_event(e, "warning", scope.live(e.ts, self.recovery_kinds), "L44"))
        for f in analysis.facts_named("wireserver.endpoint"):  # L40: endpoint learnt from a bad lease
            if isinstance(f.value, str) and _foreign_endpoint(f.value):
                hits.append(Hit.of_fact(f, "warning", scope.live(f.ts, self.recovery_kinds),
                                        say("evidence.wireserver_endpoint", endpoint=f.value.strip(),
                                            expected=WIRESERVER_IP), "L40"))
        return hits


def _foreign_endpoint(value: str) -> bool:
    """The endpoint the agent uses holds an IPv4 address other than the WireServer's (``10.16.0.141,10.16.0.142``
    after a bad lease parse). A value that is no address (``X.X.X.X``, ``<redacted>``: a customer hid it before
    sharing) says nothing either way."""
    for part in value.split(","):
        try:
            if str(ipaddress.IPv4Address(part.strip())) != WIRESERVER_IP:
                return True
        except ValueError:
            continue
    return False


def _transient_retries(failures: Sequence[Event]) -> set[tuple[str, int | None]]:
    """The HTTP retries after which the request went through: no retry of its next attempt and no failure of a
    request follows within :data:`RETRY_FOLLOW_UP`, and no retry of its previous attempt comes just before. The
    agent writes such retries now and then on healthy VMs (a timeout, then the next attempt answered); a retry
    followed by the next one, or by the request's failure, is evidence as before."""
    dated = sorted((e for e in failures if e.ts is not None), key=lambda e: e.ts)  # type: ignore[arg-type,return-value]
    transient: set[tuple[str, int | None]] = set()
    for i, e in enumerate(dated):
        attempt = as_int(e.attrs.get("attempt"))
        if attempt is None:
            continue
        after = (f for f in dated[i + 1:i + 1 + _NEIGHBOURS] if f.ts - e.ts <= RETRY_FOLLOW_UP)  # type: ignore[operator]
        before = (f for f in dated[max(i - _NEIGHBOURS, 0):i] if e.ts - f.ts <= RETRY_FOLLOW_UP)  # type: ignore[operator]
        if any(as_int(f.attrs.get("attempt")) in (None, attempt + 1) for f in after):
            continue
        if any(as_int(f.attrs.get("attempt")) == attempt - 1 for f in before):
            continue
        transient.add((e.path, e.line))
    return transient


class StorageUnreachable(Detector):
    """Seed cause 1: snapshot or status traffic to Azure Storage fails (no route, proxy, firewall)."""

    id = "STORAGE_UNREACHABLE"
    seed_cause = 1
    error_codes = ("ExtensionSnapshotFailedNoNetwork", "ExtensionFailedTimeoutDelayInNetwork",
                   "ExtensionSnapshotFailedNoSecureNetwork", "VMRestorePointClientError")
    ext_codes = (76, 761)
    sources = ("waagent_log", "vmsnapshot_log", "extension_status", "vmsnapshot_windows_log")
    transient = True
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("storage.error", "storage.error"),  # L54, L58, L61: status blob and snapshot HTTP calls
        sig("ext-76-761", ("snapshot.status", "extension.status"), codes=(76, 761)),
        sig("L56-L57", "snapshot.status", where={"error_code": "ExtensionSnapshotFailedNoNetwork"}),
        sig("L62", (), severity="warning", signals=("proxy_unsupported",)),
        sig("network.error", "network.error", r"blob\.core\.windows\.net|proxy|storage", "warning",
            wording="a network failure whose text names Azure Storage or a proxy"),
        sig("W-SecureChannel", (), signals=("secure_channel_failed",), vmsnapshot_only=True),
        sig("W-SecureChannel-code", (), where={"error_code": "ExtensionSnapshotFailedNoSecureNetwork"}),
    )


class DhcpFailure(Detector):
    """Seed cause 4: no host/fabric address from DHCP (option 245 missing, DHCP disabled, static IP)."""

    id = "DHCP_FAILURE"
    seed_cause = 4
    error_codes = ("GuestAgentSnapshotTaskStatusError", "ExtensionSnapshotFailedNoNetwork")
    sources = ("agent_log", "dhcp_lease", "registry_export", "windows_events")
    facts = ("dhcp.lease", "dhcp.enabled")
    recovery_kinds = _RECOVERY + _ROUTE_FOUND
    transient = True
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("L35-L43", "dhcp.error"),  # also Windows: no fabric address, empty DHCP option
        sig("W-Dhcp-Client", (), event_ids=(1001, 1002, 1003), provider=r"Dhcp"),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        hits = self.match(scope, self.signatures)
        # a Linux network configuration without DHCP (netplan dhcp4: false, BOOTPROTO=none/static, ...) explains a
        # DHCP failure the agent's records show; on its own it proves none (the address may still be Azure's)
        shown = any(h.live for h in hits)
        leases = fact_values(analysis, "dhcp.lease")
        usable = [v for _, v in leases if v.get("option_245") and not v.get("expired")]
        if leases and not usable:  # no option 245 in any current lease (linux-formats §3.12)
            failing = not scope.last_attempt_ok
            for f, v in leases:
                key = "evidence.expired_lease_without_245" if v.get("expired") else "evidence.lease_without_245"
                hits.append(Hit.of_fact(f, "warning", failing, say(key, interface=v.get("interface")), "§3.12"))
        for f, v in fact_values(analysis, "dhcp.enabled"):
            if v.get("enabled") is False and v.get("config") and shown:
                text = say("evidence.dhcp_off_in_config", config=v.get("config"), interface=v.get("interface"),
                           record=f.text)
                hits.append(Hit.of_fact(f, "error", True, text, "§1.1"))
            elif v.get("enabled") is False and not v.get("config"):
                hits.append(Hit.of_fact(f, "error", True, say("evidence.dhcp_disabled", interface=v.get("interface")),
                                        "W§6.2"))
        return hits
