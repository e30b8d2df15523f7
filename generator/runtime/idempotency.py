"""Idempotent mutations: the `idempotency-key` metadata of Create, Update and Delete.

With `idempotency-key: K`, the key, scoped by the caller's subject and the rpc, is stored with a
fingerprint of the request and the operation's id, in the mutation's own transaction. A repeat
with the same key and request returns that operation as it is now and changes nothing; the same
key with another request is INVALID_ARGUMENT. A call that fails (validation or anything later)
records nothing, since its transaction rolls back.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import grpc
from google.protobuf.message import Message

from .context import CallContext
from .auth import Principal
from .errors import Violation, invalid_argument
from .storage import IdempotencyRecord, StoredOperation, Transaction

# The metadata that makes a Create, Update or Delete idempotent.
IDEMPOTENCY_KEY = "idempotency-key"


class LedgerEntry(NamedTuple):
    """One call's key, scoped to its caller and rpc, and the fingerprint of its request."""

    key: str
    fingerprint: str


class IdempotencyLedger:
    """Remembers which operation each idempotency key made."""

    def entry(
        self,
        context: CallContext,
        principal: Principal,
        method: str,
        request: Message,
    ) -> LedgerEntry | None:
        """The call's entry, or None when it carries no key."""
        key = _metadata_value(context, IDEMPOTENCY_KEY)
        if not key:
            return None
        fingerprint = hashlib.sha256(
            request.SerializeToString(deterministic=True)
        ).hexdigest()
        return LedgerEntry(f"{principal.subject}\n{method}\n{key}", fingerprint)

    def replay(
        self, transaction: Transaction, entry: LedgerEntry
    ) -> StoredOperation | None:
        """The operation an earlier call with the same key made, if any; INVALID_ARGUMENT when
        that call had another request. The caller authorizes it again, like a new call.
        """
        found = transaction.get_idempotency(entry.key)
        if found is None:
            return None
        if found.fingerprint != entry.fingerprint:
            raise invalid_argument(
                [
                    Violation(
                        IDEMPOTENCY_KEY,
                        "The key was already used with a different request; "
                        "a new request needs a new key.",
                    )
                ]
            )
        return transaction.get_operation(found.operation_id)

    def record(
        self, transaction: Transaction, entry: LedgerEntry, operation_id: str
    ) -> None:
        transaction.put_idempotency(
            entry.key, IdempotencyRecord(entry.fingerprint, operation_id)
        )


def _metadata_value(context: CallContext, name: str) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == name:
            return value if isinstance(value, str) else value.decode("latin-1")
    return ""
