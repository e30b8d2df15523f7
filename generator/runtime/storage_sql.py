"""What the SQL storages (SQLite, PostgreSQL) share: the schema and its upgrades, every query,
and group commit. Their differences live in a `Dialect` (types, index values, errors) and in
the few methods each storage implements: how a write transaction takes the database's write
lock, how connections are had, and what a driver's error means.

Writes: one connection per process writes, one batch at a time. Each write transaction runs
in a savepoint of a batch; the last one before no other writer of the process is waiting (or
the `BATCH`-th) commits the batch, and every transaction in it returns only then. So a
transaction returns once it is committed, while writers under load share the cost of a commit.
A transaction that fails rolls back its savepoint alone (one that changed nothing has nothing
to roll back). A batch holds the database's write lock from its first statement to its commit:
write transactions of every process sharing the database run one at a time (the contract of
`storage.Storage`).

Timestamps: the last one taken is kept in the database (`meta` key "clock"), read when a batch
begins and written when it commits, so that they increase across processes and machines.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

from .errors import ServerFault
from .storage import (
    DuplicateName,
    IdempotencyRecord,
    IndexEntry,
    IndexKeys,
    IndexScan,
    IndexValue,
    Storage,
    StoredOperation,
    StoredResource,
    Transaction,
)

log = logging.getLogger(__name__)

BATCH = 64  # write transactions committed together at most

# Each entry brings the schema from the version before it to its own; a new database runs them
# all, in one transaction. `{text}`, `{blob}`, `{integer}`, `{real}`, `{value}` (an index value)
# and `{without_rowid}` are the dialect's. Statements are separated by ";" and hold none.
MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema. IF NOT EXISTS: databases of the versions before schema versions
    # were recorded run it again, to gain what they lack.
    """
    CREATE TABLE IF NOT EXISTS resources (
        kind {text} NOT NULL, id {text} NOT NULL, parent {text} NOT NULL,
        name {text} NOT NULL, data {blob} NOT NULL, PRIMARY KEY (kind, id)
    );
    CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (kind, parent, id);
    CREATE INDEX IF NOT EXISTS resources_by_name ON resources (kind, parent, name);
    CREATE TABLE IF NOT EXISTS operations (
        id {text} PRIMARY KEY, resource_kind {text} NOT NULL, resource_id {text} NOT NULL,
        created_at {integer} NOT NULL, done INTEGER NOT NULL, data {blob} NOT NULL,
        method {text} NOT NULL, pending {blob} NOT NULL, due {real} NOT NULL
    );
    CREATE INDEX IF NOT EXISTS operations_by_resource
        ON operations (resource_kind, resource_id, created_at, id);
    CREATE INDEX IF NOT EXISTS operations_unfinished ON operations (done) WHERE done = 0;
    CREATE TABLE IF NOT EXISTS resource_keys (
        kind {text} NOT NULL, id {text} NOT NULL, field {text} NOT NULL,
        parent {text} NOT NULL, value {value} NOT NULL, PRIMARY KEY (kind, id, field)
    ) {without_rowid};
    CREATE INDEX IF NOT EXISTS resource_keys_in_order
        ON resource_keys (kind, parent, field, value, id);
    CREATE TABLE IF NOT EXISTS idempotency (
        key {text} PRIMARY KEY, fingerprint {text} NOT NULL, operation_id {text} NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (key {text} PRIMARY KEY, value {blob} NOT NULL)
    """,
    # 2: operations keep their resource's parent, filled from the resources that still exist
    # (the operations of a resource deleted since stay without a parent).
    """
    ALTER TABLE operations ADD COLUMN parent {text} NOT NULL DEFAULT '';
    UPDATE operations SET parent = coalesce((
        SELECT parent FROM resources
        WHERE resources.kind = operations.resource_kind
            AND resources.id = operations.resource_id
    ), '')
    """,
    # 3: the database enforces unique names (of resources stored since); unfinished operations
    # are found by when they are due.
    """
    ALTER TABLE resources ADD COLUMN unique_name INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX resources_unique_names
        ON resources (kind, parent, name) WHERE unique_name = 1;
    DROP INDEX IF EXISTS operations_unfinished;
    CREATE INDEX operations_due ON operations (due) WHERE done = 0
    """,
    # 4: a resource's unfinished operation (which every change of it looks for) is found
    # without reading its finished ones: through operations_by_resource, an Update read
    # every operation the resource ever had.
    """
    CREATE INDEX operations_unfinished_by_resource
        ON operations (resource_kind, resource_id) WHERE done = 0
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_RESOURCE_COLUMNS = "kind, id, parent, name, data, unique_name"
_OPERATION_COLUMNS = (
    "id, resource_kind, resource_id, created_at, done, data, method, pending, due,"
    " parent"
)
# A resource and its unfinished operation, if any, read together (see `get_resource`).
_RESOURCE_AND_UNFINISHED = (
    ", ".join(f"r.{column}" for column in _RESOURCE_COLUMNS.split(", "))
    + ", "
    + ", ".join(f"o.{column}" for column in _OPERATION_COLUMNS.split(", "))
    + " FROM resources AS r LEFT JOIN operations AS o"
    " ON o.done = 0 AND o.resource_kind = r.kind AND o.resource_id = r.id"
)
_RESOURCE_WIDTH = len(_RESOURCE_COLUMNS.split(", "))
# An upsert rather than REPLACE: REPLACE deletes the row and rewrites every index, an upsert
# touches only the indexes whose columns change.
_UPSERT_RESOURCE = (
    f"INSERT INTO resources ({_RESOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, id) DO UPDATE SET parent = excluded.parent,"
    " name = excluded.name, data = excluded.data, unique_name = excluded.unique_name"
)
_READ_KEYS = "SELECT field, parent, value FROM resource_keys WHERE kind = ? AND id = ?"
# Both in one statement, where a WITH clause may hold an INSERT (`Dialect.writes_in_with`).
_UPSERT_THEN_READ_KEYS = f"WITH upsert AS ({_UPSERT_RESOURCE}) {_READ_KEYS}"


class Connection(Protocol):
    """What the queries need of a driver's connection (sqlite3's, or a wrapped psycopg one):
    `?` placeholders, and a cursor that iterates rows and has `fetchone`."""

    def execute(self, query: str, arguments: Sequence[Any] = ..., /) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """How one database differs in what the queries write and read."""

    types: dict[str, str]  # the schema's placeholders (see MIGRATIONS)
    # An index value as the database stores it, and back (see `storage.IndexValue`).
    store_value: Callable[[IndexValue], Any]
    load_value: Callable[[Any], IndexValue]
    # Whether a driver's error is the unique-names index refusing a row.
    duplicate_name: Callable[[BaseException], bool]
    # Whether statements without arguments go to the database as one, in one round trip
    # (PostgreSQL's simple queries; sqlite3 runs one statement a call, in process).
    joins_statements: bool = False
    # Whether a WITH clause may hold an INSERT, which runs before the query it prefixes
    # (PostgreSQL): a resource's upsert and the read of its keys then take one round trip.
    writes_in_with: bool = False

    def run(self, connection: Connection, *statements: str) -> None:
        """Runs statements without arguments, in one round trip where the database can."""
        if self.joins_statements:
            connection.execute("; ".join(statements))
        else:
            for statement in statements:
                connection.execute(statement)

    def migration(self, version: int) -> list[str]:
        """The statements that bring the schema to `version` from the one before."""
        script = MIGRATIONS[version - 1].format(**self.types)
        return [statement for statement in script.split(";") if statement.strip()]


class _Tracked:
    """A write transaction's connection, which notes whether the transaction has changed
    anything or met an error of the database: until it does, a failure of the rpc leaves
    nothing to undo (most failures, NOT_FOUND or FAILED_PRECONDITION, come before any write).
    Any statement but a SELECT counts as a change."""

    __slots__ = ("_connection", "untouched")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.untouched = True

    def execute(self, query: str, arguments: Sequence[Any] = ()) -> Any:
        if not query.startswith("SELECT"):
            self.untouched = False
        try:
            return self._connection.execute(query, arguments)
        except BaseException:
            self.untouched = False
            raise


def _operation(row: Sequence[Any]) -> StoredOperation:
    operation = StoredOperation(*row)
    return operation._replace(done=bool(operation.done))


@dataclass
class _Batch:
    """Write transactions committed together, on `connection`."""

    connection: Connection
    clock: int  # the last timestamp taken
    stored_clock: int  # the one the database holds
    size: int = 0
    # Whether the last transaction's savepoint is still open: it is released as the next
    # one begins (or by the commit), in that statement's round trip rather than one of its own.
    savepoint: bool = False
    committed: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class SqlTransaction(Transaction):
    def __init__(
        self, connection: Connection, dialect: Dialect, batch: _Batch | None = None
    ) -> None:
        self._db = connection
        self._dialect = dialect
        self._batch = batch  # None for a read transaction
        # Resources this write transaction read -> their unfinished operation (None if
        # none), read with them: a change looks for it next (`unfinished_operation_of`).
        self._unfinished: dict[tuple[str, str], StoredOperation | None] = {}

    def timestamp(self) -> int:
        batch = self._batch
        if batch is None:
            raise RuntimeError("a read transaction takes no timestamp")
        batch.clock = max(time.time_ns(), batch.clock + 1)
        return batch.clock

    def get_resource(self, kind: str, resource_id: str) -> StoredResource | None:
        if self._batch is None:
            row = self._db.execute(
                f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND id = ?",
                (kind, resource_id),
            ).fetchone()
            return StoredResource(*row) if row else None
        # Writing: its unfinished operation comes along, which a change checks next (one
        # round trip, not two). Served by the primary key and operations_unfinished_by_resource.
        row = self._db.execute(
            f"SELECT {_RESOURCE_AND_UNFINISHED} WHERE r.kind = ? AND r.id = ? LIMIT 1",
            (kind, resource_id),
        ).fetchone()
        if not row:
            return None
        operation = row[_RESOURCE_WIDTH:]
        self._unfinished[kind, resource_id] = (
            _operation(operation) if operation[0] is not None else None
        )
        return StoredResource(*row[:_RESOURCE_WIDTH])

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
            arguments.append(scan.limit)
            return [
                IndexEntry(row[0], StoredResource(*row[1:]))
                for row in self._db.execute(query, arguments)
            ]
        if scan.parent is None:
            raise ValueError("a scan by a field needs a parent")
        store = self._dialect.store_value
        where = "k.kind = ? AND k.parent = ? AND k.field = ?"
        arguments += [scan.parent, scan.field]
        if scan.value is not None:
            where += " AND k.value = ?"
            arguments.append(store(scan.value))
        if scan.after is not None:
            value, after_id = scan.after
            if after_id is None:
                where += f" AND k.value {after} ?"
                arguments.append(store(value))
            elif scan.value is not None:  # (a row value here makes SQLite sort)
                where += f" AND k.id {after} ?"
                arguments.append(after_id)
            else:
                where += f" AND (k.value, k.id) {after} (?, ?)"
                arguments += [store(value), after_id]
        # Served by resource_keys_in_order, in either direction: no sorting.
        query = (
            "SELECT k.value, r.kind, r.id, r.parent, r.name, r.data, r.unique_name"
            " FROM resource_keys AS k JOIN resources AS r"
            " ON r.kind = k.kind AND r.id = k.id"
            f" WHERE {where} ORDER BY k.value {order}, k.id {order} LIMIT ?"
        )
        arguments.append(scan.limit)
        load = self._dialect.load_value
        return [
            IndexEntry(load(row[0]), StoredResource(*row[1:]))
            for row in self._db.execute(query, arguments)
        ]

    def put_resource(self, resource: StoredResource, keys: IndexKeys = ()) -> None:
        kind, resource_id, parent = resource.kind, resource.id, resource.parent
        values = (
            kind,
            resource_id,
            parent,
            resource.name,
            resource.data,
            int(resource.unique_name),
        )
        try:
            if self._dialect.writes_in_with:
                rows = self._db.execute(
                    _UPSERT_THEN_READ_KEYS, (*values, kind, resource_id)
                ).fetchall()
            else:
                self._db.execute(_UPSERT_RESOURCE, values)
                rows = self._db.execute(_READ_KEYS, (kind, resource_id)).fetchall()
        except Exception as error:
            if self._dialect.duplicate_name(error):
                raise DuplicateName(kind, parent, resource.name) from error
            raise
        # Write only the keys that change: an Update of one field rewrites one key.
        stored = {field: (stored_parent, value) for field, stored_parent, value in rows}
        store = self._dialect.store_value
        for field_name, value in keys:
            value = store(value)
            if stored.pop(field_name, None) != (parent, value):
                self._db.execute(
                    "INSERT INTO resource_keys (kind, id, field, parent, value)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, id, field) DO UPDATE"
                    " SET parent = excluded.parent, value = excluded.value",
                    (kind, resource_id, field_name, parent, value),
                )
        for field_name in stored:  # keys of fields no longer indexed
            self._db.execute(
                "DELETE FROM resource_keys WHERE kind = ? AND id = ? AND field = ?",
                (kind, resource_id, field_name),
            )

    def delete_resource(self, kind: str, resource_id: str) -> None:
        self._unfinished.pop((kind, resource_id), None)
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
        self._unfinished.pop((operation.resource_kind, operation.resource_id), None)
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

    def due_operations(self, until: float, limit: int) -> list[StoredOperation]:
        rows = self._db.execute(
            # Served by operations_due.
            f"SELECT {_OPERATION_COLUMNS} FROM operations"
            " WHERE done = 0 AND due <= ? ORDER BY due LIMIT ?",
            (until, limit),
        )
        return [_operation(row) for row in rows]

    def unfinished_operation_of(
        self, kind: str, resource_id: str
    ) -> StoredOperation | None:
        if (kind, resource_id) in self._unfinished:
            return self._unfinished[kind, resource_id]
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
            "INSERT INTO idempotency (key, fingerprint, operation_id) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint,"
            " operation_id = excluded.operation_id",
            (key, record.fingerprint, record.operation_id),
        )

    def get_meta(self, key: str) -> bytes | None:
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def put_meta(self, key: str, value: bytes) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


_CLOCK = "clock"
_SCHEMA_VERSION = "schema_version"


class Faults:
    """A fault of the database that lasts (a full disk, an outage), logged once when it begins
    and once when it ends rather than once per call."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._lock = threading.Lock()
        self._current = ""  # what the fault is, "" when there is none
        self._reads_fail = (
            False  # whether reads meet it too (else only a write ends it)
        )

    @property
    def active(self) -> bool:
        return bool(self._current)

    def began(self, what: str, error: BaseException, reads_fail: bool) -> None:
        with self._lock:
            changed, self._current = self._current != what, what
            self._reads_fail = reads_fail
        if changed:
            log.error("%s: %s: %s", self.label, what, error)

    def fault(
        self, fault: ServerFault, error: BaseException, what: str, reads_fail: bool
    ) -> ServerFault:
        """`fault`, which the driver's `error` means, noted as begun (see `began`)."""
        self.began(what, error, reads_fail)
        fault.__cause__ = error
        return fault

    def ended(self, by_read: bool = False) -> None:
        """A call succeeded: the fault, if any, is over (a read ends only one that reads
        meet)."""
        if not self._current or (by_read and not self._reads_fail):  # no lock: often
            return
        with self._lock:
            changed, self._current = bool(self._current), ""
        if changed:
            log.info("%s: calls succeed again", self.label)


class SqlStorage(Storage):
    """A SQL database with group commit (see the module's docstring). Subclasses say how a
    write transaction begins and ends and how reads get a connection."""

    shared = True

    def __init__(self, dialect: Dialect, label: str) -> None:
        self.dialect = dialect
        self.faults = Faults(label)
        self._lock = threading.Lock()
        # One writer at a time within the process; the database's lock orders processes.
        self._writer = threading.Lock()
        self._waiting = 0  # writers waiting for `_writer`, guarded by `_lock`
        self._batch: _Batch | None = None  # the open batch, guarded by `_writer`
        self._closed = False

    # --- what each database does its own way ---------------------------------------------

    @abc.abstractmethod
    def _begin_writes(self, read_clock: bool = True) -> tuple[Connection, int]:
        """Begins a write transaction holding the database's write lock, on the connection
        that writes; returns it with the last timestamp taken (`clock_of`; 0 when not
        `read_clock`, before the schema exists)."""

    @abc.abstractmethod
    def _end_writes(
        self, connection: Connection, commit: bool, clock: int | None = None
    ) -> None:
        """Commits the write transaction, storing `clock` as the last timestamp taken when
        given, or rolls it back; raises if the commit fails, after rolling back what it
        can."""

    @abc.abstractmethod
    def _reading(self) -> AbstractContextManager[Connection]:
        """A connection in a read-only transaction that sees one state of the database."""

    @abc.abstractmethod
    def _checked(self, error: BaseException) -> BaseException:
        """What a failed call raises: a ServerFault for the database's own faults (noted in
        `faults`), else the error itself."""

    @abc.abstractmethod
    def _schema_version(self, connection: Connection) -> int:
        """The version of the database's schema: 0 for an empty database."""

    # --- the schema ----------------------------------------------------------------------

    def _upgrade(self) -> None:
        """Creates the schema, or upgrades an older one, in one write transaction: processes
        starting together over one database do it once."""
        connection, _ = self._begin_writes(read_clock=False)
        try:
            version = self._schema_version(connection)
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the database's schema is version {version}, newer than this server's"
                    f" {SCHEMA_VERSION}: run a newer server"
                )
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in self.dialect.migration(number):
                    connection.execute(statement)
            if version < SCHEMA_VERSION:
                SqlTransaction(connection, self.dialect).put_meta(
                    _SCHEMA_VERSION, str(SCHEMA_VERSION).encode()
                )
        except BaseException:
            self._end_writes(connection, commit=False)
            raise
        self._end_writes(connection, commit=True)

    def clock_of(self, connection: Connection) -> int:
        """The last timestamp a write transaction took, as the database keeps it."""
        return int(SqlTransaction(connection, self.dialect).get_meta(_CLOCK) or 0)

    def clock_statement(self, clock: int) -> str:
        """The statement that stores `clock` as the last timestamp taken (an integer, written
        out: a statement without arguments may join another's round trip)."""
        value = f"CAST('{int(clock)}' AS {self.dialect.types['blob']})"
        return (
            f"INSERT INTO meta (key, value) VALUES ('{_CLOCK}', {value})"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )

    def store_clock(self, connection: Connection, clock: int) -> None:
        """Stores `clock` as the last timestamp taken, with a statement that stays prepared
        (`clock_statement` is a new one each time, which the database compiles again).
        """
        SqlTransaction(connection, self.dialect).put_meta(_CLOCK, str(clock).encode())

    @staticmethod
    def recorded_version(connection: Connection) -> int | None:
        """The schema version the `meta` table records, if it does."""
        row = connection.execute(
            "SELECT value FROM meta WHERE key = ?", (_SCHEMA_VERSION,)
        ).fetchone()
        return int(bytes(row[0])) if row else None

    # --- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._waiting += 1
        with self._writer:
            with self._lock:
                self._waiting -= 1
            batch = self._joined_batch()
            # The first transaction of a batch needs no savepoint: should it fail, the whole
            # database transaction, which holds nothing else, rolls back.
            first = batch.size == 1
            failure: BaseException | None = None
            connection = _Tracked(batch.connection)
            clock = batch.clock
            try:
                if not first:
                    release = ("RELEASE rpc",) if batch.savepoint else ()
                    batch.savepoint = False
                    self.dialect.run(batch.connection, *release, "SAVEPOINT rpc")
                    batch.savepoint = True
                yield SqlTransaction(connection, self.dialect, batch)
            except BaseException as error:
                failure = error
                # A failure before any change, in a savepoint that was made, leaves the batch
                # as it was: no rollback (a round trip, and over PostgreSQL the end of the
                # connection's prepared statements).
                if not (connection.untouched and (first or batch.savepoint)):
                    self._undo(batch, first, error)
                else:  # its timestamps went nowhere: the commit need not store them
                    batch.clock = clock
            with self._lock:
                last = self._waiting == 0 or batch.size >= BATCH
            if self._batch is batch and (last or batch.error is not None):
                self._commit(batch)
        if failure is not None:
            raise self._checked(failure)
        batch.committed.wait()
        if batch.error is not None:
            raise self._checked(batch.error)
        self.faults.ended()

    def _joined_batch(self) -> _Batch:
        """The open batch, counting one more transaction; a new one if none is open."""
        if self._closed:
            raise RuntimeError("storage is closed")
        if self._batch is None:
            try:
                connection, clock = self._begin_writes()
            except Exception as error:
                raise self._checked(error) from None
            self._batch = _Batch(connection, clock, clock)
        self._batch.size += 1
        return self._batch

    def _undo(self, batch: _Batch, first: bool, error: BaseException) -> None:
        """Rolls back the current transaction, which `error` ended: the batch, if it is the
        first (the batch ends), else its savepoint, or, if even that fails or was not made,
        the batch."""
        if first:
            self._batch = None
            self._end_quietly(batch.connection)
            batch.committed.set()
            return
        if not batch.savepoint:
            batch.error = batch.error or error
            return
        batch.savepoint = False
        try:
            self.dialect.run(batch.connection, "ROLLBACK TO rpc", "RELEASE rpc")
        except Exception as failure:
            batch.error = failure

    def _commit(self, batch: _Batch) -> None:
        self._batch = None
        if batch.error is None:
            clock = batch.clock if batch.clock != batch.stored_clock else None
            try:
                self._end_writes(batch.connection, commit=True, clock=clock)
            except Exception as error:
                batch.error = error
        else:
            self._end_quietly(batch.connection)
        batch.committed.set()

    def _end_quietly(self, connection: Connection) -> None:
        """Rolls back a write transaction that has failed already."""
        try:
            self._end_writes(connection, commit=False)
        except Exception:  # the failure that led here is the one to report
            pass

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        if self._closed:
            raise RuntimeError("storage is closed")
        try:
            with self._reading() as connection:
                yield SqlTransaction(connection, self.dialect)
        except Exception as error:
            checked = self._checked(error)
            if checked is error:
                raise
            raise checked from error
        self.faults.ended(by_read=True)

    def close(self) -> None:
        with self._writer:
            if self._batch is not None:  # its writers wait for the commit
                self._commit(self._batch)
            with self._lock:
                self._closed = True
            self._close_connections()

    @abc.abstractmethod
    def _close_connections(self) -> None: ...
