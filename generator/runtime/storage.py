"""Storage of resources, operations and idempotency keys.

One interface, two implementations: `SqliteStorage` (the default; WAL, survives restarts) and
`MemoryStorage` (for tests). Every mutating rpc runs in one `transaction()`: all of its writes
land together or not at all, and write transactions never interleave.
"""

from __future__ import annotations

import abc
import sqlite3
import threading
from contextlib import AbstractContextManager, contextmanager
from typing import Callable, Iterator, NamedTuple

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
    def put_resource(self, resource: StoredResource) -> None: ...

    @abc.abstractmethod
    def delete_resource(self, kind: str, resource_id: str) -> None: ...

    @abc.abstractmethod
    def get_operation(self, operation_id: str) -> StoredOperation | None: ...

    @abc.abstractmethod
    def put_operation(self, operation: StoredOperation) -> None: ...

    @abc.abstractmethod
    def list_operations(self, kind: str, resource_id: str) -> list[StoredOperation]:
        """A resource's operations, newest first."""

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


def _newest_first(operation: StoredOperation) -> tuple[int, str]:
    return (operation.created_at, operation.id)


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
        found = [
            item
            for item in self._storage.resources.values()
            if item.kind == kind and (parent is None or item.parent == parent)
        ]
        return sorted(found, key=lambda item: item.id)

    def put_resource(self, resource: StoredResource) -> None:
        key = (resource.kind, resource.id)
        old = self._storage.resources.get(key)
        self._remember(self._storage.resources, key)  # type: ignore[arg-type]
        self._storage.resources[key] = resource
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
        old = self._storage.resources.get((kind, resource_id))
        if old is None:
            return
        self._remember(self._storage.resources, (kind, resource_id))  # type: ignore[arg-type]
        del self._storage.resources[(kind, resource_id)]
        if old.name:
            self._unindex_name((kind, old.parent, old.name), resource_id)

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
        self._remember(storage.operations, operation.id)  # type: ignore[arg-type]
        storage.operations[operation.id] = operation
        self._remember(storage.unfinished, operation.id)  # type: ignore[arg-type]
        if operation.done:
            storage.unfinished.pop(operation.id, None)
        else:
            storage.unfinished[operation.id] = operation
        resource = (operation.resource_kind, operation.resource_id)
        ids = storage.operations_of.setdefault(resource, {})
        if operation.id not in ids:
            ids[operation.id] = None
            self._undo.append(lambda: ids.pop(operation.id, None))

    def list_operations(self, kind: str, resource_id: str) -> list[StoredOperation]:
        operations = self._storage.operations
        ids = self._storage.operations_of.get((kind, resource_id), {})
        found = [operations[operation_id] for operation_id in ids]
        return sorted(found, key=_newest_first, reverse=True)

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


class MemoryStorage(Storage):
    """Everything in dicts, guarded by one lock: transactions run one at a time."""

    def __init__(self) -> None:
        self.resources: dict[tuple[str, str], StoredResource] = {}
        self.operations: dict[str, StoredOperation] = {}
        # Indexes, so that no lookup scans everything.
        self.names: dict[tuple[str, str, str], dict[str, None]] = {}
        self.unfinished: dict[str, StoredOperation] = {}
        self.operations_of: dict[tuple[str, str], dict[str, None]] = {}
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

    def put_resource(self, resource: StoredResource) -> None:
        self._db.execute(
            # An upsert rather than REPLACE: REPLACE deletes the row and rewrites every index,
            # an upsert touches only the indexes whose columns change.
            f"INSERT INTO resources ({_RESOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE"
            " SET parent = excluded.parent, name = excluded.name, data = excluded.data",
            (resource.kind, resource.id, resource.parent, resource.name, resource.data),
        )

    def delete_resource(self, kind: str, resource_id: str) -> None:
        self._db.execute(
            "DELETE FROM resources WHERE kind = ? AND id = ?", (kind, resource_id)
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

    def list_operations(self, kind: str, resource_id: str) -> list[StoredOperation]:
        rows = self._db.execute(
            f"SELECT {_OPERATION_COLUMNS} FROM operations"
            " WHERE resource_kind = ? AND resource_id = ?"
            " ORDER BY created_at DESC, id DESC",
            (kind, resource_id),
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
            raise failure
        batch.committed.wait()
        if batch.error is not None:
            raise batch.error

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
