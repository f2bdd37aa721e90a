"""Windows events and exports: ``.evtx``, event XML, Event Viewer CSV/TXT and ``wevtutil`` text, ``.reg``
exports, and service and VSS command output."""
