"""``bundle-analyze batch``: many bundles through isolated workers into one SQLite catalog, fleet findings and
a fleet report (DESIGN.md 3.6)."""
