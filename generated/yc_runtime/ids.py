"""Identifiers of resources and operations: 20 characters, `[a-z][a-z0-9]*`."""

from __future__ import annotations

import secrets
import string

ID_LENGTH = 20
_FIRST = string.ascii_lowercase
_REST = string.ascii_lowercase + string.digits


def new_id() -> str:
    return secrets.choice(_FIRST) + "".join(
        secrets.choice(_REST) for _ in range(ID_LENGTH - 1)
    )
