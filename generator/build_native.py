"""`python -m generator.build_native`: compiles the plugin's modules (see `native`), unless a
current build is there; exits 1, having said why, where it cannot."""

from __future__ import annotations

import os
import sys

from generator.native import build


def main() -> None:
    package = os.path.dirname(os.path.abspath(__file__))
    parallel = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    sys.exit(0 if build(package, parallel) else 1)


if __name__ == "__main__":
    main()
