"""A SQLite database in WAL mode (the default storage): one connection writes, one per thread
reads; the processes of one machine may share the file (see `storage_sql` for what the SQL
storages share).

The connection that writes keeps its page cache valid from one write to the next as long as
no other process writes (a connection that sees another's commit drops its cache). Writers of
several processes wait for each other (SQLite's busy timeout) rather than fail.

With synchronous=NORMAL a commit is written to the WAL but not fsynced: a committed
transaction survives a crash of the server (the operating system still has it), but the last
ones may be lost if the machine itself goes down. That makes commits about twice as fast as
synchronous=FULL, a good trade for a local stand-in API.

A write that SQLite refuses because the disk is full ("database or disk is full") rolls back
and raises StorageFull, logged once when the disk fills and once when a write succeeds again,
rather than a traceback per call.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from .storage import IndexValue, StorageFull
from .storage_sql import Connection, Dialect, SqlStorage

# Seconds a writer waits for another process's write transaction before it fails.
BUSY_TIMEOUT = 60.0


def _duplicate_name(error: BaseException) -> bool:
    return isinstance(error, sqlite3.IntegrityError) and "resources.name" in str(error)


def _as_is(value: IndexValue) -> IndexValue:
    # SQLite orders integers, then strings, then bytes, each as Python does.
    return value


SQLITE = Dialect(
    types={
        "text": "TEXT",
        "blob": "BLOB",
        "integer": "INTEGER",
        "real": "REAL",
        "value": "",  # any of the three types of an index value, as it is
        "without_rowid": "WITHOUT ROWID",
    },
    store_value=_as_is,
    load_value=_as_is,
    duplicate_name=_duplicate_name,
)


class SqliteStorage(SqlStorage):
    def __init__(self, path: str) -> None:
        super().__init__(SQLITE, path)
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._write_connection = self._open()
        self._use_wal()
        self._upgrade()

    def _use_wal(self) -> None:
        """Puts the database in WAL mode (which it keeps). Servers opening a new file together
        may find it locked: SQLite's busy handler does not wait for this one, so wait here.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self._write_connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise RuntimeError("storage is closed")
            connection = sqlite3.connect(
                self._path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT,
            )
            connection.execute("PRAGMA synchronous=NORMAL")
            self._connections.append(connection)
        return connection

    def _begin_writes(self, read_clock: bool = True) -> tuple[Connection, int]:
        db = self._write_connection
        db.execute("BEGIN IMMEDIATE")  # SQLite's lock on writing
        try:
            return db, self.clock_of(db) if read_clock else 0
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _end_writes(
        self, connection: Connection, commit: bool, clock: int | None = None
    ) -> None:
        db = self._write_connection
        try:
            if commit and clock is not None:
                self.store_clock(db, clock)
            db.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            if db.in_transaction:  # the commit failed
                db.execute("ROLLBACK")

    def _schema_version(self, connection: Connection) -> int:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        if "meta" in tables:
            recorded = self.recorded_version(connection)
            if recorded is not None:
                return recorded
        if "operations" not in tables:
            return 0
        # Written before schema versions were recorded: version 1 without the operations'
        # parent, 2 with it. Either gains what version 1 has and it lacks.
        for statement in self.dialect.migration(1):
            connection.execute(statement)
        columns = {
            row[1] for row in connection.execute("PRAGMA table_info(operations)")
        }
        return 2 if "parent" in columns else 1

    def _read_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return connection

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        connection = self._read_connection()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def _checked(self, error: BaseException) -> BaseException:
        """StorageFull for a full disk, else the error itself."""
        if not (
            isinstance(error, sqlite3.OperationalError)
            and error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL
        ):
            return error
        return self.faults.fault(
            StorageFull(),
            error,
            "the disk is full; calls that write answer RESOURCE_EXHAUSTED until space is"
            " freed",
            reads_fail=False,
        )

    def prepare_thread(self) -> None:
        # Open the thread's connection now rather than at its first read, so that a server's
        # descriptors settle once its threads are up.
        self._read_connection()

    def _close_connections(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
