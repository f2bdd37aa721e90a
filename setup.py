"""Build hook for the optional C modules (the metadata lives in pyproject.toml).

``parsers.linux_agent._linescan`` speeds up the block scan of agent logs, ``parsers.windows_events._evtxcount``
the counting of EVTX records and ``parsers.windows_events._evtxread`` the reading of EVTX chunks without the
library; when one cannot be compiled (no C compiler or Python headers) the install goes on and the same results
come from Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("parsers.linux_agent._linescan", ["parsers/linux_agent/_linescan.c"],
                             extra_compile_args=["-O2"], optional=True),
                   Extension("parsers.windows_events._evtxcount", ["parsers/windows_events/_evtxcount.c"],
                             extra_compile_args=["-O2"], optional=True),
                   Extension("parsers.windows_events._evtxread", ["parsers/windows_events/_evtxread.c"],
                             extra_compile_args=["-O2"], optional=True)])
