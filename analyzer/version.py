"""The analyzer's version: stored in reports and in the batch catalog (a new version analyzes again)."""

__version__ = "0.1.0"
