"""Identifiers of resources and operations: 20 characters, `[a-z][a-z0-9]*`."""

from __future__ import annotations

import base64
import os
import string

ID_LENGTH = 20
_FIRST = string.ascii_lowercase


def new_id() -> str:
    """A letter, then base32 (`a-z`, `2-7`) of 12 random bytes: about 100 random bits.

    Base32 of random bytes is much faster than drawing each character, which matters on
    every mutation."""
    random = os.urandom(13)
    rest = base64.b32encode(random[1:])[: ID_LENGTH - 1].lower().decode("ascii")
    return _FIRST[random[0] % len(_FIRST)] + rest
