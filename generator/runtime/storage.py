"""Storage of resources, operations and idempotency keys.

One interface, two implementations: `SqliteStorage` (the default; WAL, survives restarts) and
`MemoryStorage` (for tests). Every mutating rpc runs in one `transaction()`: all of its writes
land together or not at all, and write transactions never interleave.

Resources are kept with index keys: the values of the fields that Lists order and filter by,
which the service extracts when it stores a resource. `scan()` walks the resources of a parent
in the order of their ids or of one field's keys, from a key-set position, and reads only what
it returns: a page costs about the same in a parent of a thousand resources as of a million.
"""

from __future__ import annotations

import abc
import functools
import logging
import sqlite3
import threading
from contextlib import AbstractContextManager, contextmanager
from typing import Callable, Iterator, NamedTuple, Sequence

import grpc

from .errors import ServerFault
from .sortedkeys import ABOVE, SortedKeys

log = logging.getLogger(__name__)


class StorageFull(ServerFault):
    """The database cannot grow (its disk is full): no change can be stored until space is
    freed, while reads go on. Calls that write answer RESOURCE_EXHAUSTED, the code gRPC gives
    to "the entire file system is out of space"."""

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "The server's storage is full: no change can be saved until space is freed",
        )


# Records are named tuples rather than dataclasses: every mutation makes some, and tuples are
# faster to build.


class StoredResource(NamedTuple):
    kind: str  # full name of the resource message
    id: str
    parent: str  # e.g. the folder id; "" for resources without a parent
    name: str  # "" for resources without a name
    data: bytes  # the serialized resource


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
        """Stores the resource with its index keys, which replace those it had."""

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
    def unfinished_operations(self) -> list[StoredOperation]: ...

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
    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back if it raises."""

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[Transaction]:
        """A consistent read-only view."""

    def prepare_thread(self) -> None:
        """Readies this thread to use the storage (server workers call it when they start)."""

    @abc.abstractmethod
    def close(self) -> None: ...


# --- in memory -----------------------------------------------------------------------------


class _MemoryTransaction(Transaction):
    """Writes go straight to the shared dicts; an undo log restores them on rollback."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._undo: list[Callable[[], None]] = []

    # A context manager of its own rather than a generator: it wraps every call.
    def __enter__(self) -> _MemoryTransaction:
        self._storage.lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is not None:
                for undo in reversed(self._undo):
                    undo()
        finally:
            self._storage.lock.release()

    def _remember(self, table: dict[object, object], key: object) -> None:
        if key in table:
            previous = table[key]
            self._undo.append(lambda: table.__setitem__(key, previous))
        else:
            self._undo.append(lambda: table.pop(key, None))  # type: ignore[arg-type]

    def get_resource(self, kind: str, resource_id: str) -> StoredResource | None:
        return self._storage.resources.get((kind, resource_id))

    def find_by_name(self, kind: str, parent: str, name: str) -> StoredResource | None:
        ids = self._storage.names.get((kind, parent, name))
        return self.get_resource(kind, next(iter(ids))) if ids else None

    def list_resources(self, kind: str, parent: str | None) -> list[StoredResource]:
        ids = self._storage.indexes.get((kind, parent, ""))
        resources = self._storage.resources
        return [resources[(kind, item[1])] for item in ids.after(None)] if ids else []

    def scan(self, scan: IndexScan) -> list[IndexEntry]:
        index = self._storage.indexes.get((scan.kind, scan.parent, scan.field))
        if index is None:
            return []
        bound: object = None
        if scan.after is not None:
            value, after_id = scan.after
            # No id: past every entry of the value, whichever the direction.
            bound = (
                value,
                after_id if after_id is not None else _past(scan.descending),
            )
        elif scan.value is not None:  # from the first entry of the value
            bound = (scan.value, _past(not scan.descending))
        found: list[IndexEntry] = []
        resources = self._storage.resources
        for value, resource_id in index.after(bound, scan.descending):
            if scan.value is not None and value != scan.value:
                break
            found.append(IndexEntry(value, resources[(scan.kind, resource_id)]))
            if len(found) >= scan.limit:
                break
        return found

    def put_resource(self, resource: StoredResource, keys: IndexKeys = ()) -> None:
        storage = self._storage
        key = (resource.kind, resource.id)
        old = storage.resources.get(key)
        self._remember(storage.resources, key)  # type: ignore[arg-type]
        storage.resources[key] = resource
        entries = _index_entries(resource, keys)
        self._reindex(key, storage.entries.get(key, ()), entries)
        self._remember(storage.entries, key)  # type: ignore[arg-type]
        storage.entries[key] = entries
        if old is not None and (old.parent, old.name) == (
            resource.parent,
            resource.name,
        ):
            return  # the name index is right as it is
        if old is not None and old.name:
            self._unindex_name((old.kind, old.parent, old.name), old.id)
        if resource.name:
            self._index_name(
                (resource.kind, resource.parent, resource.name), resource.id
            )

    def delete_resource(self, kind: str, resource_id: str) -> None:
        storage = self._storage
        old = storage.resources.get((kind, resource_id))
        if old is None:
            return
        self._remember(storage.resources, (kind, resource_id))  # type: ignore[arg-type]
        del storage.resources[(kind, resource_id)]
        self._reindex(
            (kind, resource_id), storage.entries.get((kind, resource_id), ()), ()
        )
        self._remember(storage.entries, (kind, resource_id))  # type: ignore[arg-type]
        storage.entries.pop((kind, resource_id), None)
        if old.name:
            self._unindex_name((kind, old.parent, old.name), resource_id)

    def _reindex(
        self,
        key: tuple[str, str],
        old: tuple[_IndexEntry, ...],
        new: tuple[_IndexEntry, ...],
    ) -> None:
        """Moves a resource's entries in the ordered indexes from `old` to `new`."""
        indexes = self._storage.indexes
        for index_key, item in set(old) - set(new):
            index = indexes[index_key]
            index.discard(item)
            self._undo.append(functools.partial(index.add, item))
        for index_key, item in set(new) - set(old):
            index = indexes.setdefault(index_key, SortedKeys())
            index.add(item)
            self._undo.append(functools.partial(index.discard, item))

    def _index_name(self, key: tuple[str, str, str], resource_id: str) -> None:
        ids = self._storage.names.setdefault(key, {})
        ids[resource_id] = None
        self._undo.append(lambda: ids.pop(resource_id, None))

    def _unindex_name(self, key: tuple[str, str, str], resource_id: str) -> None:
        ids = self._storage.names.get(key, {})
        if ids.pop(resource_id, False) is None:
            self._undo.append(lambda: ids.__setitem__(resource_id, None))

    def get_operation(self, operation_id: str) -> StoredOperation | None:
        return self._storage.operations.get(operation_id)

    def put_operation(self, operation: StoredOperation) -> None:
        storage = self._storage
        known = operation.id in storage.operations
        self._remember(storage.operations, operation.id)  # type: ignore[arg-type]
        storage.operations[operation.id] = operation
        self._remember(storage.unfinished, operation.id)  # type: ignore[arg-type]
        if operation.done:
            storage.unfinished.pop(operation.id, None)
        else:
            storage.unfinished[operation.id] = operation
        if not known:  # an operation's resource and created_at never change
            resource = (operation.resource_kind, operation.resource_id)
            newest = storage.operations_of.setdefault(resource, SortedKeys())
            item = (operation.created_at, operation.id)
            newest.add(item)
            self._undo.append(lambda: newest.discard(item))

    def operations_page(
        self,
        kind: str,
        resource_id: str,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[StoredOperation]:
        ordered = self._storage.operations_of.get((kind, resource_id))
        if ordered is None:
            return []
        operations = self._storage.operations
        found = []
        for _, operation_id in ordered.after(before, descending=True):
            found.append(operations[operation_id])
            if len(found) >= limit:
                break
        return found

    def unfinished_operations(self) -> list[StoredOperation]:
        return list(self._storage.unfinished.values())

    def unfinished_operation_of(
        self, kind: str, resource_id: str
    ) -> StoredOperation | None:
        for operation in self._storage.unfinished.values():
            if operation.resource_id == resource_id and operation.resource_kind == kind:
                return operation
        return None

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self._storage.idempotency.get(key)

    def put_idempotency(self, key: str, record: IdempotencyRecord) -> None:
        self._remember(self._storage.idempotency, key)  # type: ignore[arg-type]
        self._storage.idempotency[key] = record

    def get_meta(self, key: str) -> bytes | None:
        return self._storage.meta.get(key)

    def put_meta(self, key: str, value: bytes) -> None:
        self._remember(self._storage.meta, key)  # type: ignore[arg-type]
        self._storage.meta[key] = value


# An entry of the in-memory ordered indexes: which index, and the (value, id) it holds there.
_IndexEntry = tuple[tuple[str, "str | None", str], tuple[IndexValue, str]]


def _index_entries(
    resource: StoredResource, keys: IndexKeys
) -> tuple[_IndexEntry, ...]:
    """A resource's places: among every resource of its kind and of its parent by id, and in
    its parent by each key."""
    kind, resource_id, parent = resource.kind, resource.id, resource.parent
    by_id = (resource_id, resource_id)
    return (
        ((kind, None, ""), by_id),
        ((kind, parent, ""), by_id),
        *(((kind, parent, field), (value, resource_id)) for field, value in keys),
    )


def _past(descending: bool) -> object:
    """The id of a bound that lies past every entry of a value in a scan's direction."""
    return "" if descending else ABOVE


class MemoryStorage(Storage):
    """Everything in dicts, guarded by one lock: transactions run one at a time."""

    def __init__(self) -> None:
        self.resources: dict[tuple[str, str], StoredResource] = {}
        self.operations: dict[str, StoredOperation] = {}
        # Indexes, so that no lookup scans everything.
        self.names: dict[tuple[str, str, str], dict[str, None]] = {}
        # Ordered indexes by (kind, parent or None for all, field or "" for ids).
        self.indexes: dict[
            tuple[str, str | None, str], SortedKeys[tuple[IndexValue, str]]
        ] = {}
        self.entries: dict[tuple[str, str], tuple[_IndexEntry, ...]] = {}
        self.unfinished: dict[str, StoredOperation] = {}
        self.operations_of: dict[tuple[str, str], SortedKeys[tuple[int, str]]] = {}
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.meta: dict[str, bytes] = {}
        self.lock = threading.RLock()

    def transaction(self) -> AbstractContextManager[Transaction]:
        return _MemoryTransaction(self)

    def read(self) -> AbstractContextManager[Transaction]:
        return self.transaction()

    def close(self) -> None:
        pass


# --- SQLite --------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, id TEXT NOT NULL, parent TEXT NOT NULL, name TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (kind, parent, id);
CREATE INDEX IF NOT EXISTS resources_by_name ON resources (kind, parent, name);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY, resource_kind TEXT NOT NULL, resource_id TEXT NOT NULL,
    created_at INTEGER NOT NULL, done INTEGER NOT NULL, data BLOB NOT NULL,
    method TEXT NOT NULL, pending BLOB NOT NULL, due REAL NOT NULL,
    parent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS operations_by_resource
    ON operations (resource_kind, resource_id, created_at, id);
CREATE INDEX IF NOT EXISTS operations_unfinished ON operations (done) WHERE done = 0;
CREATE TABLE IF NOT EXISTS resource_keys (
    kind TEXT NOT NULL, id TEXT NOT NULL, field TEXT NOT NULL, parent TEXT NOT NULL,
    value NOT NULL, PRIMARY KEY (kind, id, field)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resource_keys_in_order
    ON resource_keys (kind, parent, field, value, id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, operation_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
_RESOURCE_COLUMNS = "kind, id, parent, name, data"
_BATCH = 64  # write transactions committed together at most
_OPERATION_COLUMNS = (
    "id, resource_kind, resource_id, created_at, done, data, method, pending, due,"
    " parent"
)
# Databases written before operations had a parent: add the column, filled from the resources
# that still exist (the operations of a resource deleted since stay without a parent).
_ADD_OPERATION_PARENT = """
ALTER TABLE operations ADD COLUMN parent TEXT NOT NULL DEFAULT '';
UPDATE operations SET parent = coalesce((
    SELECT parent FROM resources
    WHERE resources.kind = operations.resource_kind AND resources.id = operations.resource_id
), '');
"""


def _operation(row: tuple[object, ...]) -> StoredOperation:
    operation = StoredOperation(*row)  # type: ignore[arg-type]
    return operation._replace(done=bool(operation.done))


class _SqliteTransaction(Transaction):
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def get_resource(self, kind: str, resource_id: str) -> StoredResource | None:
        row = self._db.execute(
            f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND id = ?",
            (kind, resource_id),
        ).fetchone()
        return StoredResource(*row) if row else None

    def find_by_name(self, kind: str, parent: str, name: str) -> StoredResource | None:
        row = self._db.execute(
            f"SELECT {_RESOURCE_COLUMNS} FROM resources"
            " WHERE kind = ? AND parent = ? AND name = ? LIMIT 1",
            (kind, parent, name),
        ).fetchone()
        return StoredResource(*row) if row else None

    def list_resources(self, kind: str, parent: str | None) -> list[StoredResource]:
        if parent is None:
            rows = self._db.execute(
                f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? ORDER BY id",
                (kind,),
            )
        else:
            rows = self._db.execute(
                f"SELECT {_RESOURCE_COLUMNS} FROM resources"
                " WHERE kind = ? AND parent = ? ORDER BY id",
                (kind, parent),
            )
        return [StoredResource(*row) for row in rows]

    def scan(self, scan: IndexScan) -> list[IndexEntry]:
        after = "<" if scan.descending else ">"
        order = "DESC" if scan.descending else "ASC"
        arguments: list[object] = [scan.kind]
        if not scan.field:
            where = "kind = ?"
            if scan.parent is not None:
                where += " AND parent = ?"
                arguments.append(scan.parent)
            if scan.value is not None:
                where += " AND id = ?"
                arguments.append(scan.value)
            if scan.after is not None:
                where += f" AND id {after} ?"
                arguments.append(scan.after[0])
            # Served by the primary key, or resources_by_parent: no sorting.
            query = (
                f"SELECT id, {_RESOURCE_COLUMNS} FROM resources WHERE {where}"
                f" ORDER BY id {order} LIMIT ?"
            )
        else:
            if scan.parent is None:
                raise ValueError("a scan by a field needs a parent")
            where = "k.kind = ? AND k.parent = ? AND k.field = ?"
            arguments += [scan.parent, scan.field]
            if scan.value is not None:
                where += " AND k.value = ?"
                arguments.append(scan.value)
            if scan.after is not None:
                value, after_id = scan.after
                if after_id is None:
                    where += f" AND k.value {after} ?"
                    arguments.append(value)
                elif scan.value is not None:  # (a row value here makes SQLite sort)
                    where += f" AND k.id {after} ?"
                    arguments.append(after_id)
                else:
                    where += f" AND (k.value, k.id) {after} (?, ?)"
                    arguments += [value, after_id]
            # Served by resource_keys_in_order, in either direction: no sorting.
            query = (
                "SELECT k.value, r.kind, r.id, r.parent, r.name, r.data"
                " FROM resource_keys AS k JOIN resources AS r"
                " ON r.kind = k.kind AND r.id = k.id"
                f" WHERE {where} ORDER BY k.value {order}, k.id {order} LIMIT ?"
            )
        arguments.append(scan.limit)
        return [
            IndexEntry(row[0], StoredResource(*row[1:]))
            for row in self._db.execute(query, arguments)
        ]

    def put_resource(self, resource: StoredResource, keys: IndexKeys = ()) -> None:
        kind, resource_id, parent = resource.kind, resource.id, resource.parent
        self._db.execute(
            # An upsert rather than REPLACE: REPLACE deletes the row and rewrites every index,
            # an upsert touches only the indexes whose columns change.
            f"INSERT INTO resources ({_RESOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE"
            " SET parent = excluded.parent, name = excluded.name, data = excluded.data",
            (kind, resource_id, parent, resource.name, resource.data),
        )
        # Write only the keys that change: an Update of one field rewrites one key.
        stored = {
            field: (stored_parent, value)
            for field, stored_parent, value in self._db.execute(
                "SELECT field, parent, value FROM resource_keys WHERE kind = ? AND id = ?",
                (kind, resource_id),
            )
        }
        for field, value in keys:
            if stored.pop(field, None) != (parent, value):
                self._db.execute(
                    "INSERT INTO resource_keys (kind, id, field, parent, value)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, id, field) DO UPDATE"
                    " SET parent = excluded.parent, value = excluded.value",
                    (kind, resource_id, field, parent, value),
                )
        for field in stored:  # keys of fields no longer indexed
            self._db.execute(
                "DELETE FROM resource_keys WHERE kind = ? AND id = ? AND field = ?",
                (kind, resource_id, field),
            )

    def delete_resource(self, kind: str, resource_id: str) -> None:
        self._db.execute(
            "DELETE FROM resources WHERE kind = ? AND id = ?", (kind, resource_id)
        )
        self._db.execute(
            "DELETE FROM resource_keys WHERE kind = ? AND id = ?", (kind, resource_id)
        )

    def get_operation(self, operation_id: str) -> StoredOperation | None:
        row = self._db.execute(
            f"SELECT {_OPERATION_COLUMNS} FROM operations WHERE id = ?", (operation_id,)
        ).fetchone()
        return _operation(row) if row else None

    def put_operation(self, operation: StoredOperation) -> None:
        self._db.execute(
            f"INSERT INTO operations ({_OPERATION_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET done = excluded.done, data = excluded.data,"
            " method = excluded.method, pending = excluded.pending, due = excluded.due,"
            " parent = excluded.parent",
            (
                operation.id,
                operation.resource_kind,
                operation.resource_id,
                operation.created_at,
                int(operation.done),
                operation.data,
                operation.method,
                operation.pending,
                operation.due,
                operation.parent,
            ),
        )

    def operations_page(
        self,
        kind: str,
        resource_id: str,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[StoredOperation]:
        where = "resource_kind = ? AND resource_id = ?"
        arguments: list[object] = [kind, resource_id]
        if before is not None:
            where += " AND (created_at, id) < (?, ?)"
            arguments += before
        rows = self._db.execute(
            # Served by operations_by_resource, backwards.
            f"SELECT {_OPERATION_COLUMNS} FROM operations WHERE {where}"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (*arguments, limit),
        )
        return [_operation(row) for row in rows]

    def unfinished_operations(self) -> list[StoredOperation]:
        rows = self._db.execute(
            f"SELECT {_OPERATION_COLUMNS} FROM operations WHERE done = 0 ORDER BY due"
        )
        return [_operation(row) for row in rows]

    def unfinished_operation_of(
        self, kind: str, resource_id: str
    ) -> StoredOperation | None:
        row = self._db.execute(
            f"SELECT {_OPERATION_COLUMNS} FROM operations"
            " WHERE done = 0 AND resource_kind = ? AND resource_id = ? LIMIT 1",
            (kind, resource_id),
        ).fetchone()
        return _operation(row) if row else None

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        row = self._db.execute(
            "SELECT fingerprint, operation_id FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        return IdempotencyRecord(*row) if row else None

    def put_idempotency(self, key: str, record: IdempotencyRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency (key, fingerprint, operation_id)"
            " VALUES (?, ?, ?)",
            (key, record.fingerprint, record.operation_id),
        )

    def get_meta(self, key: str) -> bytes | None:
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def put_meta(self, key: str, value: bytes) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
        )


class _Batch:
    """Write transactions committed together (see SqliteStorage.transaction)."""

    def __init__(self) -> None:
        self.size = 0
        self.committed = threading.Event()
        self.error: BaseException | None = None


class SqliteStorage(Storage):
    """A SQLite database in WAL mode: one connection writes, one per thread reads.

    Write transactions run one at a time, on one connection, whose page cache therefore stays
    valid from one write to the next (a connection that sees another's commit drops its cache).

    Group commit: each write transaction runs in a savepoint of a batch; the last one before no
    other writer is waiting (or the `_BATCH`-th) commits the batch, and every transaction in it
    returns only then. So a transaction returns once it is committed, as before, while writers
    under load share the cost of a commit. A transaction that fails rolls back its savepoint
    alone.

    With synchronous=NORMAL a commit is written to the WAL but not fsynced: a committed
    transaction survives a crash of the server (the operating system still has it), but the
    last ones may be lost if the machine itself goes down. That makes commits about twice as
    fast as synchronous=FULL, a good trade for a local stand-in API.

    A write that SQLite refuses because the disk is full ("database or disk is full") rolls
    back and raises StorageFull, logged once when the disk fills and once when a write
    succeeds again, rather than a traceback per call.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # One writer at a time within the process: when IMMEDIATE transactions collide,
        # SQLite's busy handler sleeps for up to tens of milliseconds.
        self._writer = threading.Lock()
        self._waiting = 0  # writers waiting for `_writer`, guarded by `_lock`
        self._batch: _Batch | None = None  # the open batch, guarded by `_writer`
        self._closed = False
        self._full = False  # the last write found the disk full; guarded by `_lock`
        self._write_connection = self._open()
        self._write_connection.execute("PRAGMA journal_mode=WAL")
        self._write_connection.executescript(_SCHEMA)
        columns = {
            row[1]
            for row in self._write_connection.execute("PRAGMA table_info(operations)")
        }
        if "parent" not in columns:
            self._write_connection.executescript(
                f"BEGIN IMMEDIATE;{_ADD_OPERATION_PARENT}COMMIT;"
            )

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise RuntimeError("storage is closed")
            connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=60
            )
            connection.execute("PRAGMA synchronous=NORMAL")
            self._connections.append(connection)
        return connection

    def _read_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return connection

    @contextmanager
    def _read(self, connection: sqlite3.Connection) -> Iterator[Transaction]:
        if self._closed:
            raise RuntimeError("storage is closed")
        connection.execute("BEGIN")
        try:
            yield _SqliteTransaction(connection)
        finally:
            connection.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        connection = self._write_connection
        with self._lock:
            self._waiting += 1
        with self._writer:
            with self._lock:
                self._waiting -= 1
            if self._closed:
                raise RuntimeError("storage is closed")
            if self._batch is None:
                connection.execute("BEGIN IMMEDIATE")
                self._batch = _Batch()
            batch = self._batch
            batch.size += 1
            failure: BaseException | None = None
            connection.execute("SAVEPOINT rpc")
            try:
                yield _SqliteTransaction(connection)
            except BaseException as error:
                failure = error
                self._undo(connection, batch)
            else:
                connection.execute("RELEASE rpc")
            with self._lock:
                last = self._waiting == 0 or batch.size >= _BATCH
            if last or batch.error is not None:
                self._commit(connection, batch)
        if failure is not None:
            raise self._checked(failure)
        batch.committed.wait()
        if batch.error is not None:
            raise self._checked(batch.error)
        if self._full:
            self._noted_full(False)

    def _checked(self, error: BaseException) -> BaseException:
        """What a failed write raises: StorageFull for a full disk, else the error itself."""
        if not (
            isinstance(error, sqlite3.OperationalError)
            and error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL
        ):
            return error
        self._noted_full(True, error)
        full = StorageFull()
        full.__cause__ = error
        return full

    def _noted_full(self, full: bool, error: BaseException | None = None) -> None:
        """Logs when the disk fills (the first write that finds it full) and when a write
        succeeds again."""
        with self._lock:
            changed, self._full = self._full != full, full
        if changed and full:
            log.error(
                "%s: %s; calls that write answer RESOURCE_EXHAUSTED until space is freed",
                self._path,
                error,
            )
        elif changed:
            log.info("%s: writes succeed again", self._path)

    def _undo(self, connection: sqlite3.Connection, batch: _Batch) -> None:
        """Rolls back the current transaction's savepoint, or, if even that fails, the batch."""
        try:
            connection.execute("ROLLBACK TO rpc")
            connection.execute("RELEASE rpc")
        except sqlite3.Error as error:
            batch.error = error

    def _commit(self, connection: sqlite3.Connection, batch: _Batch) -> None:
        self._batch = None
        try:
            if batch.error is None:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            batch.error = error
        if batch.error is not None and connection.in_transaction:
            connection.execute("ROLLBACK")
        batch.committed.set()

    def read(self) -> AbstractContextManager[Transaction]:
        return self._read(self._read_connection())

    def prepare_thread(self) -> None:
        # Open the thread's connection now rather than at its first read, so that a server's
        # descriptors settle once its threads are up.
        self._read_connection()

    def close(self) -> None:
        with self._writer:
            if self._batch is not None:  # its writers wait for the commit
                self._commit(self._write_connection, self._batch)
            with self._lock:
                self._closed = True
                for connection in self._connections:
                    connection.close()
                self._connections.clear()


def open_storage(path: str) -> Storage:
    """`:memory:` keeps everything in this process; any other path is a SQLite file."""
    return MemoryStorage() if path == ":memory:" else SqliteStorage(path)
