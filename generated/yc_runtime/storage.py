"""Storage of resources, operations and idempotency keys: the interface and its records.

Three implementations: `SqliteStorage` (the default; WAL, survives restarts, shared by the
processes of one machine), `PostgresStorage` (shared by processes and machines) and
`MemoryStorage` (one process; for tests). `open_storage` picks one from `--db`.

The contracts the services rely on, which every implementation keeps:

- Every mutating rpc runs in one `transaction()`: all of its writes land together or not at
  all. Write transactions never interleave, across every process and machine that shares the
  storage: the unique-name check and the reference checks read, then write, and rely on it.
- `Transaction.timestamp()` is strictly after every timestamp any earlier write transaction
  that committed took, wherever it ran: operations' created_at follows commit order, which
  ListOperations' newest-first pages rely on, even if a clock steps back or differs between
  machines. (The timestamps of a transaction that failed were never stored: they may recur.)
- A resource stored with `unique_name` is refused (DuplicateName) when another of its kind has
  the name in its parent: the database enforces it, whatever the service checked before.
- Resources are kept with index keys: the values of the fields that Lists order and filter by,
  which the service extracts when it stores a resource. `scan()` walks the resources of a
  parent in the order of their ids or of one field's keys, from a key-set position, and reads
  only what it returns: a page costs about the same in a parent of a thousand resources as of
  a million. Index values of one field are all of one type (`IndexValue`) and order as Python
  orders them: strings by code point, integers as signed 64-bit numbers, bytes bytewise.
- A storage that other processes may write (`shared`) can gain unfinished operations that this
  process did not start: the scheduler polls `due_operations` for them.
"""

from __future__ import annotations

import abc
import re
from contextlib import AbstractContextManager
from typing import NamedTuple, Sequence

import grpc

from .errors import ServerFault


class StorageFull(ServerFault):
    """The database cannot grow (its disk is full): no change can be stored until space is
    freed, while reads go on. Calls that write answer RESOURCE_EXHAUSTED, the code gRPC gives
    to "the entire file system is out of space"."""

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "The server's storage is full: no change can be saved until space is freed",
        )


class StorageUnavailable(ServerFault):
    """The database does not answer (stopped, restarting, unreachable): calls answer
    UNAVAILABLE, which clients retry, until it answers again; the storage reconnects by
    itself. A write that meets it is not acknowledged."""

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.UNAVAILABLE,
            "The server's database is unavailable; try again shortly",
        )


class DuplicateName(Exception):
    """Another resource of the kind has the unique name in the parent (raised by
    `put_resource` for a resource stored with `unique_name`)."""

    def __init__(self, kind: str, parent: str, name: str) -> None:
        super().__init__(f"{kind} {name!r} already exists in {parent!r}")
        self.kind, self.parent, self.name = kind, parent, name


# Records are named tuples rather than dataclasses: every mutation makes some, and tuples are
# faster to build.


class StoredResource(NamedTuple):
    kind: str  # full name of the resource message
    id: str
    parent: str  # e.g. the folder id; "" for resources without a parent
    name: str  # "" for resources without a name
    data: bytes  # the serialized resource
    unique_name: bool = (
        False  # no other resource of the kind has the name in the parent
    )


class StoredOperation(NamedTuple):
    id: str
    resource_kind: str
    resource_id: str
    created_at: int  # nanoseconds since the epoch
    done: bool
    data: bytes  # the serialized yandex.cloud.operation.Operation
    method: str = ""  # the rpc that completes an unfinished operation
    pending: bytes = b""  # what completes it: the serialized request
    due: float = 0.0  # when it completes, in seconds since the epoch
    parent: str = ""  # the resource's parent, which decides who may see the operation


# A field's value in an index: ordered the same way by SQLite and by Python (see
# `query.QueryField.index_value`); one field's values are all of one of these types.
IndexValue = str | int | bytes
IndexKeys = Sequence[tuple[str, IndexValue]]  # (field, value) of one resource


class IndexScan(NamedTuple):
    """Resources of a kind, in the order of an index: by `field`'s value then id, or, for
    field "", by id. Both go in one direction, `descending` or not."""

    kind: str
    parent: str | None  # None: every parent (field "" only)
    field: str = ""
    value: IndexValue | None = (
        None  # only the resources with this value (field "": this id)
    )
    # Start strictly after this (value, id) in the scan's direction; an id of None starts
    # after every resource with that value. Field "": the value is the id.
    after: tuple[IndexValue, str | None] | None = None
    descending: bool = False
    limit: int = 1


class IndexEntry(NamedTuple):
    value: IndexValue  # the field's value (the id, for field "")
    resource: StoredResource


class IdempotencyRecord(NamedTuple):
    fingerprint: str  # identifies the request the key was first used with
    operation_id: str


class Transaction(abc.ABC):
    """The operations of one transaction. Reads see the transaction's own writes."""

    @abc.abstractmethod
    def timestamp(self) -> int:
        """Now, in nanoseconds since the epoch, strictly after every timestamp taken by an
        earlier write transaction of the storage that committed (write transactions only).
        """

    @abc.abstractmethod
    def get_resource(self, kind: str, resource_id: str) -> StoredResource | None: ...

    @abc.abstractmethod
    def find_by_name(
        self, kind: str, parent: str, name: str
    ) -> StoredResource | None: ...

    @abc.abstractmethod
    def list_resources(self, kind: str, parent: str | None) -> list[StoredResource]:
        """Resources of `kind` (under `parent`, unless it is None), ordered by id."""

    @abc.abstractmethod
    def scan(self, scan: IndexScan) -> list[IndexEntry]:
        """At most `scan.limit` resources, in the scan's order, from its position."""

    @abc.abstractmethod
    def put_resource(self, resource: StoredResource, keys: IndexKeys = ()) -> None:
        """Stores the resource with its index keys, which replace those it had; DuplicateName
        if it has a `unique_name` that another resource of its kind has in its parent.
        """

    @abc.abstractmethod
    def delete_resource(self, kind: str, resource_id: str) -> None: ...

    @abc.abstractmethod
    def get_operation(self, operation_id: str) -> StoredOperation | None: ...

    @abc.abstractmethod
    def put_operation(self, operation: StoredOperation) -> None: ...

    @abc.abstractmethod
    def operations_page(
        self,
        kind: str,
        resource_id: str,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[StoredOperation]:
        """At most `limit` of a resource's operations, newest first (by created_at, then id),
        strictly older than `before` (created_at, id) when it is given."""

    @abc.abstractmethod
    def unfinished_operations(self) -> list[StoredOperation]:
        """Every unfinished operation, soonest due first."""

    @abc.abstractmethod
    def due_operations(self, until: float, limit: int) -> list[StoredOperation]:
        """At most `limit` unfinished operations due at `until` (seconds since the epoch) or
        before, soonest due first."""

    @abc.abstractmethod
    def unfinished_operation_of(
        self, kind: str, resource_id: str
    ) -> StoredOperation | None:
        """An operation in progress on the resource, if any."""

    @abc.abstractmethod
    def get_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    @abc.abstractmethod
    def put_idempotency(self, key: str, record: IdempotencyRecord) -> None: ...

    @abc.abstractmethod
    def get_meta(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    def put_meta(self, key: str, value: bytes) -> None: ...


class Storage(abc.ABC):
    # Whether other processes may write it: then unfinished operations appear that this one
    # did not start, and the scheduler looks for them.
    shared = False

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends (and only then acknowledged),
        rolled back if it raises. Raises StorageFull or StorageUnavailable when the database
        cannot take it."""

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[Transaction]:
        """A consistent read-only view."""

    def prepare_thread(self) -> None:
        """Readies this thread to use the storage (server workers call it when they start)."""

    @abc.abstractmethod
    def close(self) -> None: ...


# libpq's connection strings: a URL, or `keyword=value` pairs (`host=db dbname=api`).
_POSTGRES = re.compile(r"^(postgres(ql)?://|\s*[a-z_]+\s*=)")


def open_storage(db: str, *, pool_size: int = 16) -> Storage:
    """The storage `db` names: `:memory:` keeps everything in this process, a libpq connection
    string (`postgresql://user@host:port/dbname`, or `host=... dbname=...`) a PostgreSQL
    database (whose driver is imported only then; `pool_size` connections at most), anything
    else a SQLite file. Raises OSError when the database cannot be used."""
    if db == ":memory:":
        from .storage_memory import MemoryStorage

        return MemoryStorage()
    if _POSTGRES.match(db):
        try:
            from .storage_postgres import PostgresStorage
        except ImportError as error:
            raise OSError(
                f"PostgreSQL needs psycopg 3 and psycopg-pool ({error}):"
                " pip install 'psycopg[binary]' psycopg-pool"
            ) from None
        return PostgresStorage(db, pool_size=pool_size)
    from .storage_sqlite import SqliteStorage

    return SqliteStorage(db)
