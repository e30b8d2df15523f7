"""Keyset paging with opaque, tamper-evident page tokens.

A page token is URL-safe base64 (no padding) of a 16-byte signature and a compact JSON
payload {"q": <digest of the query>, "p": <position of the last item served>}. The
signature is HMAC-SHA256 of the payload, so it covers the query digest too: a client can
neither edit a token nor reuse it for another query (parent, filter, order_by).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
from typing import Callable, Sequence, TypeVar

from .query import QueryError, SortKey

T = TypeVar("T")

_SIGNATURE_SIZE = 16
_QUERY_DIGEST_SIZE = 16  # hex characters
_NOT_BASE64 = "not a valid page token: not URL-safe base64"


class PageTokenError(QueryError):
    """A page_token that this server did not issue for this query."""

    def __init__(self, message: str) -> None:
        super().__init__("page_token", message)


class PageTokens:
    """Issues and checks page tokens signed with a server secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the page token secret must not be empty")
        self._secret = secret

    def encode(self, query: str, position: Sequence[object]) -> str:
        content = {"q": _query_digest(query), "p": list(position)}
        payload = json.dumps(content, separators=(",", ":")).encode("ascii")
        return _base64(self._sign(payload) + payload)

    def decode(self, token: str, query: str) -> list[object]:
        """The position stored in `token`; raises PageTokenError for any other input."""
        payload = self._verified_payload(token)
        try:
            content = json.loads(payload)
        except ValueError:
            raise PageTokenError("not a valid page token: bad payload") from None
        if not (
            isinstance(content, dict)
            and isinstance(content.get("q"), str)
            and isinstance(content.get("p"), list)
        ):
            raise PageTokenError("not a valid page token: bad payload")
        if content["q"] != _query_digest(query):
            message = (
                "the token does not belong to this query: filter or order_by changed"
            )
            raise PageTokenError(message)
        position: list[object] = content["p"]
        return position

    def _verified_payload(self, token: str) -> bytes:
        raw = _unbase64(token)
        signature, payload = raw[:_SIGNATURE_SIZE], raw[_SIGNATURE_SIZE:]
        if not hmac.compare_digest(signature, self._sign(payload)):
            message = (
                "not a valid page token: it was altered or issued by another server"
            )
            raise PageTokenError(message)
        return payload

    def _sign(self, payload: bytes) -> bytes:
        digest = hmac.new(self._secret, payload, hashlib.sha256).digest()
        return digest[:_SIGNATURE_SIZE]


def _query_digest(query: str) -> str:
    # No key needed: the digest is inside the signed payload.
    encoded = query.encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest()[:_QUERY_DIGEST_SIZE]


def _base64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unbase64(token: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise PageTokenError(_NOT_BASE64) from None
    # The decoder skips stray characters and unused bits; only canonical text passes.
    if _base64(raw) != token:
        raise PageTokenError(_NOT_BASE64)
    return raw


def paginate(
    items: Sequence[T],
    key: Callable[[T], SortKey],
    after: SortKey | None,
    page_size: int,
) -> tuple[list[T], T | None]:
    """One page of `items` (sorted by `key`): those strictly after `after`, at most
    `page_size` of them, and the last one returned if more remain (else None).

    Resuming from a key rather than an offset keeps pages stable under concurrent
    writes: an item that exists throughout is never skipped or served twice."""
    if page_size < 1:
        raise ValueError(f"page_size must be positive, got {page_size}")
    start = 0 if after is None else bisect.bisect_right(items, after, key=key)
    page = list(items[start : start + page_size])
    more = start + page_size < len(items)
    return page, page[-1] if more else None
