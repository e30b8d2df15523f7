"""Identifiers of resources and operations: 20 characters, `[a-z][a-z0-9]*`."""

from __future__ import annotations

import secrets
import string

ID_LENGTH = 20
_FIRST = string.ascii_lowercase
_REST = string.ascii_lowercase + string.digits
# 26 * 36**19 < 2**104: one random number gives every character.
_BITS = 104


def new_id() -> str:
    number = secrets.randbits(_BITS)
    number, first = divmod(number, len(_FIRST))
    characters = [_FIRST[first]]
    for _ in range(ID_LENGTH - 1):
        number, digit = divmod(number, len(_REST))
        characters.append(_REST[digit])
    return "".join(characters)
