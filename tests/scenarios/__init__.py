"""A corpus the detectors were not written against (issue 13): stories rendered through variation axes.

A *story* (``stories.py``) says what happened on a VM around a backup and what a support engineer should
be told (findings, root cause, verdict). A *variant* (``vm.Variant``) says how the bundle looks: agent
generation, WaAppAgent format, layout, archive kind, time zone and how the bundle reveals it, encoding,
rotation, where the agent records are, how Windows events were exported. ``design.py`` picks a seeded
covering design over the axes; ``render.py`` writes a case (bundle + ``expected.json``) for a human or
``bundle-analyze eval``; ``triage.py`` sorts failures by the classes of issue 13 and writes ``known.py``,
the strict-xfail table of the corpus test.
"""
