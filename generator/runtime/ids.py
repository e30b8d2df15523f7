"""Identifiers of resources and operations: 20 characters, `[a-z][a-z0-9]*`, and request ids."""

from __future__ import annotations

import os
import random
import string

ID_LENGTH = 20
# Each random byte picks a character by its value modulo the alphabet's size: a slight bias
# toward the first few characters, harmless in ids, and much faster than drawing each one.
_LETTERS = string.ascii_lowercase.encode("ascii")
_CHARACTERS = (string.ascii_lowercase + string.digits).encode("ascii")
_FIRST = bytes(_LETTERS[byte % len(_LETTERS)] for byte in range(256))
_REST = bytes(_CHARACTERS[byte % len(_CHARACTERS)] for byte in range(256))
# Ids name things, they grant nothing (tokens do), so a seeded generator is enough. It matters
# for speed: os.urandom is a system call, during which Python lets other threads take over.
_random = random.Random(os.urandom(32))


def _reseed() -> None:
    _random.seed(os.urandom(32))


# A forked process (a worker of --processes) would otherwise draw its parent's ids.
os.register_at_fork(after_in_child=_reseed)


def new_number_id() -> int:
    """A new id for an integer id field: positive, below 2**53 (exact in JSON too)."""
    return _random.randrange(1, 2**53)


def new_id() -> str:
    data = _random.randbytes(ID_LENGTH)
    return (data[:1].translate(_FIRST) + data[1:].translate(_REST)).decode("ascii")


# The fixed bits of a random UUID: version 4, and the RFC 4122 variant.
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & (2**128 - 1)
_UUID4_SET = (4 << 76) | (0x8000 << 48)


def new_request_id() -> str:
    """A random (version 4) UUID, formatted without building a uuid.UUID, which is slower."""
    text = f"{_random.getrandbits(128) & _UUID4_KEEP | _UUID4_SET:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
