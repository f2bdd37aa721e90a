"""Configuration and state files of the guest agents, the extensions and the system: WireServer XML,
agent JSON state, extension status and settings, ``waagent.conf``, ``vmbackup.conf``, DHCP leases and
host facts (release files, time zone, ``systeminfo``)."""
