"""Who makes a call: bearer tokens, the subjects derived from them, the parents they may touch.

Tokens are configured with the server, each as `TOKEN` or `TOKEN=parent1,parent2` (the flag
`--token`). With none configured the server is open: every caller is `ANONYMOUS`, with subject ""
and access to everything. With any configured, a call must carry the metadata
`authorization: Bearer TOKEN` naming one of them (else UNAUTHENTICATED); a token bound to parents
(folders, for most APIs) may touch only resources whose parent is in its list (else
PERMISSION_DENIED), and so no resource of a type that has no parent.

The subject of a token, which operations record as `created_by`, is derived from the token alone,
so it is the same on every server and across restarts: `a` followed by the first 19 characters
of the lowercase base32 form of SHA-256 of the token's UTF-8 bytes (20 characters,
`[a-z][a-z0-9]*`, like other ids).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import grpc

from .context import CallContext
from .errors import ApiError, permission_denied

AUTHORIZATION = "authorization"
_SCHEME = "bearer"
# Printable ASCII without spaces and without `=`, which separates a token from its parents.
_TOKEN = re.compile(r"[\x21-\x3c\x3e-\x7e]+")
# Printable ASCII without spaces and without `,`, which separates parents.
_PARENT = re.compile(r"[\x21-\x2b\x2d-\x7e]+")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its subject, and the parents it may touch (None: all)."""

    subject: str
    parents: frozenset[str] | None = None

    @property
    def restricted(self) -> bool:
        return self.parents is not None

    def may_access(self, parent: str) -> bool:
        """Whether the caller may touch resources under `parent` ("" for no parent)."""
        return self.parents is None or parent in self.parents

    def require(self, parent: str, kind: str, name: str = "") -> None:
        """Raises PERMISSION_DENIED unless the caller may touch resources under `parent`.

        `kind` and `name` say what the call touches, for the message: ("folder", "b1g...") when
        the request names the parent, ("image", "<id>") when it names a resource."""
        if self.may_access(parent):
            return
        allowed = ", ".join(sorted(self.parents or ()))
        reason = f"the token may only access resources under {allowed}"
        if not parent:
            reason += f"; {kind}s have no parent"
        raise permission_denied(kind, name, reason)


ANONYMOUS = Principal("")


def subject_of(token: str) -> str:
    digest = hashlib.sha256(token.encode("utf-8")).digest()
    return "a" + base64.b32encode(digest).decode("ascii").lower()[:19]


def parse_token(text: str) -> tuple[str, Principal]:
    """`TOKEN` or `TOKEN=parent1,parent2`: the token and its principal. Raises ValueError.

    Tokens are printable ASCII without spaces or `=`; parents are separated by commas.
    """
    token, bound, listed = text.partition("=")
    if not _TOKEN.fullmatch(token):
        raise ValueError(
            "a token must be non-empty printable ASCII without spaces or '='"
        )
    if not bound:
        return token, Principal(subject_of(token))
    parents = listed.split(",")
    if not all(_PARENT.fullmatch(parent) for parent in parents):
        raise ValueError(
            "TOKEN=PARENTS needs a comma-separated list of non-empty parent ids after '='"
        )
    return token, Principal(subject_of(token), frozenset(parents))


def _first(metadata: Iterable[tuple[str, str | bytes]], key: str) -> str | None:
    for name, value in metadata:
        if name == key:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


class Authenticator:
    """The configured tokens; `principal()` tells who makes a call."""

    def __init__(self, tokens: Sequence[str] = ()) -> None:
        """`tokens` as the `--token` flag takes them; raises ValueError for a bad one."""
        self._principals: dict[str, Principal] = {}
        for text in tokens:
            token, principal = parse_token(text)
            if token in self._principals:
                raise ValueError("the same token is configured twice")
            self._principals[token] = principal

    @property
    def enabled(self) -> bool:
        """Whether calls must carry a token (else the server is open)."""
        return bool(self._principals)

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]]) -> Principal:
        """The caller that `metadata` authenticates; raises an UNAUTHENTICATED ApiError."""
        if not self.enabled:
            return ANONYMOUS
        header = _first(metadata, AUTHORIZATION)
        if header is None:
            raise _unauthenticated("the call has no 'authorization' metadata")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != _SCHEME or not token.strip():
            raise _unauthenticated("'authorization' must be 'Bearer <token>'")
        principal = self._principals.get(token.strip())
        if principal is None:
            raise _unauthenticated("the token is not valid")
        return principal

    def principal(self, context: CallContext) -> Principal:
        """Who makes the call of `context`; raises an UNAUTHENTICATED ApiError."""
        return self.authenticate(context.invocation_metadata() or ())


def _unauthenticated(reason: str) -> ApiError:
    return ApiError(grpc.StatusCode.UNAUTHENTICATED, f"Unauthenticated: {reason}")
