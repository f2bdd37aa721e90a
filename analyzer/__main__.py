"""``bundle-analyze`` and ``python -m analyzer``: the CLI, whose Ctrl-C is one line and exit 130 at any moment,
even while its modules are still loading (``analyzer.cli.run`` handles it once they are)."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from analyzer.cli import run
    except KeyboardInterrupt:
        sys.stderr.write("\nbundle-analyze: interrupted\n")
        raise SystemExit(130) from None  # analyzer.cli.EXIT_INTERRUPTED, not importable yet
    run()


if __name__ == "__main__":
    main()
