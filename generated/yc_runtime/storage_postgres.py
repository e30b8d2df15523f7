"""A PostgreSQL database (`--db postgresql://user@host:port/dbname`), which any number of
processes and machines may share (see `storage_sql` for what the SQL storages share).

psycopg 3 and its connection pool: one connection writes per process, a pool of them reads.
A write batch takes a transaction-level advisory lock first, so that write transactions of
every instance run one at a time (the storage's contract), and releases it when it commits.
Reads run in read-only REPEATABLE READ transactions: one state of the database each.

Index values are stored as bytes that order as Python orders the values (a type tag, then
integers as biased big-endian, strings as UTF-8, bytes as they are), and text columns use the
"C" collation: ids, names and keys order by code point, as in SQLite and in Python, whatever
the database's locale.

When the database does not answer (stopped, restarting, unreachable), calls fail at once or
within `TIMEOUT` seconds with StorageUnavailable (UNAVAILABLE, which clients retry), logged
once when it begins and once when it ends; the pools reconnect by themselves. A write is
acknowledged only once its commit has succeeded.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import psycopg
from psycopg import IsolationLevel, errors
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from .storage import IndexValue, StorageUnavailable
from .storage_sql import Connection, Dialect, SqlStorage

# Seconds a call waits for a connection before it answers UNAVAILABLE; also the timeout of
# each attempt to connect. While the database is known not to answer, calls wait `RETRY`
# seconds: long enough for a connection to a database that is back, short enough that
# clients soon retry.
TIMEOUT = 2.0
RETRY = 0.25
# The advisory lock that write transactions hold ("yc_write").
WRITE_LOCK = 0x79635F7772697465
# A session idle inside a transaction this long is ended by the database, and with it the
# write lock it holds: an instance that froze does not stop the others for good.
_SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=30s"
_INTEGER, _STRING, _BYTES = b"\x01", b"\x02", b"\x03"
_READ_CLOCK = "SELECT value FROM meta WHERE key = 'clock'"


def _store_value(value: IndexValue) -> bytes:
    if isinstance(value, str):
        return _STRING + value.encode()
    if isinstance(value, int):
        return _INTEGER + (value + 2**63).to_bytes(8, "big")
    return _BYTES + value


def _load_value(stored: bytes) -> IndexValue:
    tag, body = stored[:1], stored[1:]
    if tag == _STRING:
        return body.decode()
    if tag == _INTEGER:
        return int.from_bytes(body, "big") - 2**63
    return body


def _duplicate_name(error: BaseException) -> bool:
    return (
        isinstance(error, errors.UniqueViolation)
        and error.diag.constraint_name == "resources_unique_names"
    )


POSTGRESQL = Dialect(
    types={
        "text": 'TEXT COLLATE "C"',
        "blob": "BYTEA",
        "integer": "BIGINT",
        "real": "DOUBLE PRECISION",
        "value": "BYTEA",
        "without_rowid": "",
    },
    store_value=_store_value,
    load_value=_load_value,
    duplicate_name=_duplicate_name,
    joins_statements=True,
    writes_in_with=True,
)


@functools.lru_cache(maxsize=None)
def _placeholders(query: str) -> str:
    """The shared queries' `?` placeholders as psycopg's `%s` (no query holds a `?` or a `%`
    of its own)."""
    return query.replace("?", "%s")


class _Connection:
    """A psycopg connection that runs the shared queries."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, query: str, arguments: Sequence[Any] = ()) -> Any:
        return self.raw.execute(_placeholders(query), arguments or None)


def _autocommit(connection: psycopg.Connection[Any]) -> None:
    connection.autocommit = True  # transactions begin and end by statements of ours


def _readonly(connection: psycopg.Connection[Any]) -> None:
    connection.isolation_level = IsolationLevel.REPEATABLE_READ
    connection.read_only = True


class PostgresStorage(SqlStorage):
    def __init__(self, conninfo: str, pool_size: int = 16) -> None:
        super().__init__(POSTGRESQL, _safe(conninfo))
        # The pools say when a connection fails, and keep trying; `faults` says it once.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        try:
            settings = _settings(conninfo)
        except psycopg.ProgrammingError as error:
            raise OSError(f"malformed PostgreSQL connection string: {error}") from None
        self._writes = _pool(conninfo, settings, size=1, configure=_autocommit)
        self._reads = _pool(
            conninfo, settings, size=max(1, pool_size), configure=_readonly
        )
        self._writing: psycopg.Connection[Any] | None = None
        try:
            # Once directly: the driver's own error says why it fails (the pools only that
            # they gave up).
            psycopg.connect(conninfo, **settings).close()
            for pool in (self._writes, self._reads):
                pool.open(wait=True, timeout=TIMEOUT * 2)
            self._upgrade()
        except Exception as error:
            self._close_connections()
            raise OSError(
                f"cannot use the database {self.faults.label}: {error}"
            ) from None

    def _wait(self) -> float:
        """How long a call waits for a connection."""
        return RETRY if self.faults.active else TIMEOUT

    def _begin_writes(self, read_clock: bool = True) -> tuple[Connection, int]:
        raw = self._writes.getconn(self._wait())
        # One round trip: the write connection is in autocommit mode, so that these three
        # go as one simple query (each statement sees what was committed before it ran,
        # the clock after the lock).
        begin = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        try:
            if not read_clock:
                raw.execute(begin)
                clock = 0
            else:
                cursor = raw.execute(f"{begin}; {_READ_CLOCK}")
                while cursor.nextset():
                    pass
                row = cursor.fetchone()
                clock = int(bytes(row[0])) if row else 0
        except BaseException:
            self._release(raw)
            raise
        self._writing = raw
        return _Connection(raw), clock

    def _end_writes(
        self, connection: Connection, commit: bool, clock: int | None = None
    ) -> None:
        raw, self._writing = self._writing, None
        assert raw is not None
        try:
            if not commit:
                raw.execute("ROLLBACK")
            elif clock is None:
                raw.execute("COMMIT")
            else:  # one round trip
                raw.execute(f"{self.clock_statement(clock)}; COMMIT")
        finally:
            self._release(raw)

    def _release(self, raw: psycopg.Connection[Any]) -> None:
        """Gives the write connection back, out of any transaction (the pool drops a broken
        one)."""
        if raw.info.transaction_status != TransactionStatus.IDLE and not raw.broken:
            try:
                raw.execute("ROLLBACK")
            except psycopg.Error:  # broken after all: the pool drops it
                pass
        self._writes.putconn(raw)

    def _schema_version(self, connection: Connection) -> int:
        (table,) = connection.execute(
            "SELECT to_regclass('meta') IS NOT NULL"
        ).fetchone()
        return (table and self.recorded_version(connection)) or 0

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        raw = self._reads.getconn(self._wait())
        try:
            yield _Connection(raw)
            raw.commit()
        finally:
            self._reads.putconn(raw)

    def _checked(self, error: BaseException) -> BaseException:
        """StorageUnavailable when the database does not answer, else the error itself."""
        if not isinstance(error, psycopg.OperationalError):
            return error
        return self.faults.fault(
            StorageUnavailable(),
            error,
            "the database does not answer; calls answer UNAVAILABLE",
            reads_fail=True,
        )

    def _close_connections(self) -> None:
        self._reads.close()
        self._writes.close()


def _pool(
    conninfo: str,
    settings: dict[str, Any],
    size: int,
    configure: Callable[[psycopg.Connection[Any]], None] | None = None,
) -> ConnectionPool[psycopg.Connection[Any]]:
    """A pool of at most `size` connections, opened later; a call waits `TIMEOUT` seconds at
    most for one. A connection that fails is replaced by a new attempt when a call needs one,
    rather than after a growing backoff."""
    return ConnectionPool(
        conninfo,
        min_size=1,
        max_size=size,
        configure=configure,
        timeout=TIMEOUT,
        kwargs=settings,
        reconnect_timeout=TIMEOUT,
        open=False,
    )


def _settings(conninfo: str) -> dict[str, Any]:
    """What the pools add to the connection string: a timeout to connect, unless it has one,
    and the session options, after any it has (`options=-c synchronous_commit=off`, say).
    """
    given = psycopg.conninfo.conninfo_to_dict(conninfo)
    options = f"{given.get('options') or ''} {_SESSION_OPTIONS}".strip()
    return {
        "connect_timeout": given.get("connect_timeout") or round(TIMEOUT),
        "options": options,
    }


def _safe(conninfo: str) -> str:
    """The connection string without its password, for logs."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(a malformed connection string)"
    parts.pop("password", None)
    return psycopg.conninfo.make_conninfo("", **parts)
