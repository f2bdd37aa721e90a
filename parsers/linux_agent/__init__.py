"""Linux agent logs: ``waagent.log`` (every generation), agent records in syslog and journal copies,
the VMSnapshotLinux extension's logs and the log collector's ``results.txt``."""
