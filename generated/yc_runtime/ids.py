"""Identifiers of resources and operations: 20 characters, `[a-z][a-z0-9]*`, and request ids."""

from __future__ import annotations

import base64
import os
import random
import string
import uuid

ID_LENGTH = 20
_FIRST = string.ascii_lowercase
# Ids name things, they grant nothing (tokens do), so a seeded generator is enough. It matters
# for speed: os.urandom is a system call, during which Python lets other threads take over.
_random = random.Random(os.urandom(32))


def new_id() -> str:
    """A letter, then base32 (`a-z`, `2-7`) of 12 random bytes: about 100 random bits."""
    data = _random.randbytes(13)
    rest = base64.b32encode(data[1:])[: ID_LENGTH - 1].lower().decode("ascii")
    return _FIRST[data[0] % len(_FIRST)] + rest


def new_request_id() -> str:
    """A random (version 4) UUID."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))
