"""Fault tests: generated servers in their own processes, killed, raced and restarted."""

from __future__ import annotations

import sys

from support import GENERATED

if str(GENERATED) not in sys.path:
    sys.path.insert(0, str(GENERATED))
