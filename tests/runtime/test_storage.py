"""Storage (generator/runtime/storage*.py): the contracts of `storage.Storage`, the same test
bodies over memory, SQLite and PostgreSQL; and how the SQL databases' schema is upgraded.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from generator.runtime.storage import (
    DuplicateName,
    IdempotencyRecord,
    IndexScan,
    Storage,
    StoredOperation,
    StoredResource,
    Transaction,
)
from generator.runtime import storage_sql
from generator.runtime.storage import open_storage
from generator.runtime.storage_sql import SqlStorage
from generator.runtime.storage_sqlite import SqliteStorage

_OLD_OPERATIONS = """
CREATE TABLE operations (
    id TEXT PRIMARY KEY, resource_kind TEXT NOT NULL, resource_id TEXT NOT NULL,
    created_at INTEGER NOT NULL, done INTEGER NOT NULL, data BLOB NOT NULL,
    method TEXT NOT NULL, pending BLOB NOT NULL, due REAL NOT NULL
);
CREATE TABLE resources (
    kind TEXT NOT NULL, id TEXT NOT NULL, parent TEXT NOT NULL, name TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (kind, id)
);
INSERT INTO resources VALUES ('k', 'r1', 'folder-1', 'n', x'');
INSERT INTO operations VALUES ('o1', 'k', 'r1', 1, 1, x'', '', x'', 0);
INSERT INTO operations VALUES ('o2', 'k', 'gone', 2, 1, x'', '', x'', 0);
"""


def test_operations_keep_their_parent(storage: Storage) -> None:
    operation = StoredOperation("o1", "k", "r1", 1, False, b"x", parent="folder-1")
    with storage.transaction() as transaction:
        transaction.put_operation(operation)
    with storage.read() as transaction:
        assert transaction.get_operation("o1") == operation
        assert transaction.operations_page("k", "r1", None, 10) == [operation]
        assert transaction.unfinished_operations() == [operation]
    storage.close()


def test_an_older_database_gets_the_parent_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript(_OLD_OPERATIONS)
    connection.close()
    storage = SqliteStorage(str(path))
    with storage.read() as transaction:
        kept = transaction.get_operation("o1")
        orphan = transaction.get_operation("o2")
        resource = transaction.get_resource("k", "r1")
    assert kept is not None and kept.parent == "folder-1"
    assert orphan is not None and orphan.parent == ""  # its resource is gone
    assert resource == StoredResource("k", "r1", "folder-1", "n", b"")
    storage.close()
    SqliteStorage(str(path)).close()  # opening it again changes nothing


def test_the_unfinished_operation_of_a_resource(storage: Storage) -> None:
    running = StoredOperation("o1", "k", "r1", 1, False, b"x")
    with storage.transaction() as transaction:
        transaction.put_operation(running)
        transaction.put_operation(StoredOperation("o2", "k", "r2", 2, True, b"y"))
        transaction.put_operation(StoredOperation("o3", "other", "r1", 3, True, b"z"))
    with storage.read() as transaction:
        assert transaction.unfinished_operation_of("k", "r1") == running
        assert transaction.unfinished_operation_of("k", "r2") is None
        assert transaction.unfinished_operation_of("other", "r1") is None
    with storage.transaction() as transaction:
        transaction.put_operation(running._replace(done=True))
    with storage.read() as transaction:
        assert transaction.unfinished_operation_of("k", "r1") is None
    storage.close()


def test_a_failed_transaction_leaves_nothing(storage: Storage) -> None:
    kept = StoredResource("k", "r1", "f", "first", b"1")
    with storage.transaction() as transaction:
        transaction.put_resource(kept)
    with pytest.raises(RuntimeError):
        with storage.transaction() as transaction:
            transaction.put_resource(kept._replace(name="renamed", data=b"2"))
            transaction.put_resource(StoredResource("k", "r2", "f", "second", b""))
            transaction.put_operation(StoredOperation("o1", "k", "r1", 1, False, b""))
            transaction.put_idempotency("key", IdempotencyRecord("f", "o1"))
            raise RuntimeError("fails after its writes")
    with storage.read() as transaction:
        assert transaction.get_resource("k", "r1") == kept
        assert transaction.get_resource("k", "r2") is None
        assert transaction.find_by_name("k", "f", "first") == kept
        assert transaction.find_by_name("k", "f", "renamed") is None
        assert transaction.get_operation("o1") is None
        assert transaction.unfinished_operations() == []
        assert transaction.operations_page("k", "r1", None, 10) == []
        assert transaction.get_idempotency("key") is None
        assert transaction.unfinished_operation_of("k", "r1") is None
    running = StoredOperation("o2", "k", "r1", 2, False, b"")
    with storage.transaction() as transaction:
        transaction.put_operation(running)
    with pytest.raises(RuntimeError):
        with storage.transaction() as transaction:
            transaction.put_operation(running._replace(done=True))
            raise RuntimeError("fails after finishing the operation")
    with storage.read() as transaction:
        assert transaction.unfinished_operation_of("k", "r1") == running
    storage.close()


def test_concurrent_writes_commit_together_and_fail_alone(database: str) -> None:
    """Group commit: every write that returned is committed (seen by another connection),
    and one that fails, by raising before or after its writes or by the database refusing
    one, takes none of the others in its batch with it."""
    storage = open_storage(database)
    with storage.transaction() as transaction:
        transaction.put_resource(StoredResource("k", "taken", "f", "taken", b"", True))
    failed: list[str] = []

    def write(worker: int) -> None:
        for index in range(40):
            name = f"r{worker}-{index}"
            try:
                with storage.transaction() as transaction:
                    if index % 7 == 1:  # fails having changed nothing
                        assert transaction.get_resource("k", "taken") is not None
                        raise LookupError(name)
                    transaction.put_resource(StoredResource("k", name, "f", name, b""))
                    if index % 7 == 3:
                        raise ValueError(name)
                    if index % 7 == 5:  # the database refuses the statement
                        transaction.put_resource(
                            StoredResource("k", f"{name}-2", "f", "taken", b"", True)
                        )
            except (LookupError, ValueError, DuplicateName):
                failed.append(name)
                continue
            with storage.read() as transaction:  # a connection of this thread's own
                assert transaction.get_resource("k", name) is not None

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    storage.close()
    other = open_storage(database)
    with other.read() as transaction:
        stored = {
            entry.resource.id
            for entry in transaction.scan(IndexScan("k", "f", limit=1000))
        }
    other.close()
    expected = {f"r{w}-{i}" for w in range(8) for i in range(40)} - set(failed)
    assert len(failed) == 8 * 17 and stored == expected | {"taken"}


def test_a_change_finds_the_operation_in_flight_of_what_it_read(
    storage: Storage,
) -> None:
    """A write transaction that reads a resource then looks for its unfinished operation
    (as every change does) finds the one stored, and then the ones it writes itself."""
    resource = StoredResource("k", "r1", "f", "n", b"")
    running = StoredOperation("o1", "k", "r1", 1, False, b"x")
    with storage.transaction() as transaction:
        transaction.put_resource(resource)
        transaction.put_resource(resource._replace(id="r2"))
        transaction.put_operation(running)
    with storage.transaction() as transaction:
        assert transaction.get_resource("k", "r1") == resource
        assert transaction.unfinished_operation_of("k", "r1") == running
        assert transaction.get_resource("k", "r2") == resource._replace(id="r2")
        assert transaction.unfinished_operation_of("k", "r2") is None
        transaction.put_operation(running._replace(done=True))
        assert transaction.unfinished_operation_of("k", "r1") is None
        transaction.put_operation(running._replace(id="o2", resource_id="r2"))
        assert transaction.unfinished_operation_of("k", "r2") == running._replace(
            id="o2", resource_id="r2"
        )
        assert transaction.get_resource("k", "gone") is None
        assert transaction.unfinished_operation_of("k", "gone") is None
    with storage.transaction() as transaction:
        assert transaction.get_resource("k", "r2") is not None
        transaction.delete_resource("k", "r2")
        assert transaction.get_resource("k", "r2") is None
        assert transaction.unfinished_operation_of("k", "r2") is not None  # kept
    storage.close()


def test_names_follow_renames_and_moves(storage: Storage) -> None:
    first = StoredResource("k", "r1", "f", "first", b"1")
    with storage.transaction() as transaction:
        transaction.put_resource(first)
        transaction.put_resource(
            first._replace(data=b"2")
        )  # same name: index unchanged
    with storage.read() as transaction:
        assert transaction.find_by_name("k", "f", "first") == first._replace(data=b"2")
    moved = first._replace(parent="g", name="second")
    with storage.transaction() as transaction:
        transaction.put_resource(moved)
    with storage.read() as transaction:
        assert transaction.find_by_name("k", "f", "first") is None
        assert transaction.find_by_name("k", "g", "second") == moved
    storage.close()


def test_index_keys_follow_changes(storage: Storage) -> None:
    """A resource's index keys are those it was last stored with: a changed value moves it
    in its field's order, a move takes its keys to the new parent, and a field stored without
    a key is no longer scanned."""

    def scan(parent: str, field: str) -> list[tuple[object, str]]:
        with storage.read() as transaction:
            found = transaction.scan(IndexScan("k", parent, field, limit=10))
        return [(entry.value, entry.resource.id) for entry in found]

    first = StoredResource("k", "r1", "f", "a", b"")
    second = StoredResource("k", "r2", "f", "b", b"")
    with storage.transaction() as transaction:
        transaction.put_resource(first, (("name", "a"), ("size", 7), ("tag", b"\x01")))
        transaction.put_resource(second, (("name", "b"), ("size", -3)))
    assert scan("f", "name") == [("a", "r1"), ("b", "r2")]
    assert scan("f", "size") == [(-3, "r2"), (7, "r1")]
    assert scan("f", "tag") == [(b"\x01", "r1")]
    with storage.transaction() as transaction:
        transaction.put_resource(first._replace(name="c"), (("name", "c"), ("size", 7)))
    assert scan("f", "name") == [("b", "r2"), ("c", "r1")]
    assert scan("f", "size") == [(-3, "r2"), (7, "r1")]
    assert scan("f", "tag") == []
    with storage.transaction() as transaction:
        transaction.put_resource(second._replace(parent="g"), (("name", "b"),))
        transaction.put_resource(first._replace(name="c"), ())
    assert scan("f", "name") == [] and scan("f", "size") == []
    assert scan("g", "name") == [("b", "r2")] and scan("g", "size") == []


def test_the_database_refuses_a_taken_unique_name(storage: Storage) -> None:
    """Two resources of a kind cannot share a unique name in a parent, whatever the service
    checked before; names that are not unique may repeat."""
    first = StoredResource("k", "r1", "f", "n", b"1", unique_name=True)
    with storage.transaction() as transaction:
        transaction.put_resource(first)
        transaction.put_resource(first._replace(data=b"2"))  # itself: no conflict
        transaction.put_resource(StoredResource("k", "r2", "g", "n", b"", True))
    with pytest.raises(DuplicateName):
        with storage.transaction() as transaction:
            transaction.put_resource(StoredResource("k", "r3", "f", "x", b""))
            transaction.put_resource(StoredResource("k", "r4", "f", "n", b"", True))
    with storage.transaction() as transaction:
        assert transaction.get_resource("k", "r3") is None  # rolled back with it
        transaction.put_resource(StoredResource("other", "r5", "f", "n", b"", True))
        transaction.put_resource(StoredResource("free", "r6", "f", "n", b""))
        transaction.put_resource(StoredResource("free", "r7", "f", "n", b""))
        transaction.put_resource(first._replace(name="m"))
        transaction.put_resource(StoredResource("k", "r4", "f", "n", b"", True))
    with storage.read() as transaction:
        assert transaction.find_by_name("k", "f", "n") == StoredResource(
            "k", "r4", "f", "n", b"", True
        )


def test_due_operations_come_soonest_first(storage: Storage) -> None:
    def pending(number: int, due: float, done: bool = False) -> StoredOperation:
        return StoredOperation(f"o{number}", "k", "r", number, done, b"", "m", b"", due)

    with storage.transaction() as transaction:
        for operation in (pending(1, 30.0), pending(2, 10.0), pending(3, 20.0)):
            transaction.put_operation(operation)
        transaction.put_operation(pending(4, 5.0, done=True))
    with storage.read() as transaction:
        assert [o.id for o in transaction.due_operations(25.0, 10)] == ["o2", "o3"]
        assert [o.id for o in transaction.due_operations(99.0, 1)] == ["o2"]
        assert [o.id for o in transaction.unfinished_operations()] == ["o2", "o3", "o1"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that several storages open (`open_storage`'s argument)."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


def test_timestamps_increase_across_storages_of_one_database(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers over one database take timestamps in commit order, even when their clocks
    step back or stand still."""
    first, second = open_storage(database), open_storage(database)
    monkeypatch.setattr(storage_sql.time, "time_ns", lambda: 1_000)
    taken = []
    for storage in (first, second, first, second):
        with storage.transaction() as transaction:
            taken.append(transaction.timestamp())
            taken.append(transaction.timestamp())
    first.close()
    second.close()
    assert taken == sorted(set(taken)) and taken[0] == 1_000


def test_an_older_schema_is_upgraded_in_place(database: str) -> None:
    """A database of the previous schema version, with its data, gains the current schema on
    first open, once; one of a newer version is refused, naming both versions."""
    storage = open_storage(database)  # makes the empty database, then empties it
    assert isinstance(storage, SqlStorage)
    dialect = storage.dialect
    storage.close()
    previous = storage_sql.SCHEMA_VERSION - 1
    with _raw(database) as execute:
        for table in (
            "resources",
            "operations",
            "resource_keys",
            "idempotency",
            "meta",
        ):
            execute(f"DROP TABLE {table}")
        for version in range(1, previous + 1):
            for statement in dialect.migration(version):
                execute(statement)
        execute("INSERT INTO meta VALUES ('schema_version', ?)", str(previous).encode())
        execute(
            "INSERT INTO resources (kind, id, parent, name, data)"
            " VALUES ('k', 'r1', 'f', 'n', ?)",
            b"1",
        )
        execute(
            "INSERT INTO operations (id, resource_kind, resource_id, created_at, done,"
            " data, method, pending, due, parent)"
            " VALUES ('o1', 'k', 'r1', 1, 0, ?, 'm', ?, 5.0, 'f')",
            b"",
            b"",
        )
    upgraded = open_storage(database)
    with upgraded.read() as transaction:
        assert transaction.get_resource("k", "r1") == StoredResource(
            "k", "r1", "f", "n", b"1"
        )
        assert [o.id for o in transaction.due_operations(9.0, 10)] == ["o1"]
        unfinished = transaction.unfinished_operation_of("k", "r1")
        assert unfinished is not None and unfinished.id == "o1"
        assert (
            transaction.get_meta("schema_version")
            == str(storage_sql.SCHEMA_VERSION).encode()
        )
    with upgraded.transaction() as transaction:
        transaction.put_resource(StoredResource("k", "r2", "f", "u", b"", True))
    with pytest.raises(DuplicateName):  # the new unique-names index works
        with upgraded.transaction() as transaction:
            transaction.put_resource(StoredResource("k", "r3", "f", "u", b"", True))
    upgraded.close()
    open_storage(database).close()  # opening it again changes nothing
    with _raw(database) as execute:
        execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", b"99")
    with pytest.raises((RuntimeError, OSError), match="version 99, newer than"):
        open_storage(database)


@contextmanager
def _raw(database: str) -> Iterator[Callable[..., object]]:
    """Runs statements (with `?` placeholders) on the database itself, then commits."""
    if not database.startswith("postgresql://"):
        with closing(sqlite3.connect(database)) as connection:
            yield lambda query, *arguments: connection.execute(query, arguments)
            connection.commit()
        return
    import psycopg

    with psycopg.connect(database) as connection:
        yield lambda query, *arguments: connection.execute(
            query.replace("?", "%s"), arguments or None
        )


def test_servers_opening_a_new_sqlite_file_together_all_open(tmp_path: Path) -> None:
    """The first open puts the file in WAL mode, which SQLite's busy handler does not wait
    for: servers started together on a new file must wait for each other, not fail."""
    code = (
        "import sys; from generator.runtime.storage_sqlite import SqliteStorage;"
        " SqliteStorage(sys.argv[1]).close()"
    )
    for round_ in range(5):
        path = str(tmp_path / f"{round_}.sqlite3")
        opening = [
            subprocess.Popen(
                [sys.executable, "-c", code, path], stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        errors = [process.communicate(timeout=60)[1] for process in opening]
        assert [process.returncode for process in opening] == [0] * 4, errors


def test_open_storage_tells_the_databases_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`:memory:`, a libpq connection string (a URL, or keyword=value pairs) and anything
    else, a SQLite file (`./` before a file name that holds an `=`)."""
    from generator.runtime.storage_memory import MemoryStorage

    memory = open_storage(":memory:")
    assert isinstance(memory, MemoryStorage)
    monkeypatch.chdir(tmp_path)
    sqlite_file = open_storage("./a=b.sqlite3")
    assert (
        isinstance(sqlite_file, SqliteStorage) and (tmp_path / "a=b.sqlite3").exists()
    )
    sqlite_file.close()
    for conninfo in (
        "postgresql://u@127.0.0.1:1/db",
        "host=127.0.0.1 port=1 dbname=db",
    ):
        with pytest.raises(OSError, match="Connection refused"):
            open_storage(conninfo)


class _RolledBack(Exception):
    """Raised to end a transaction without keeping its writes."""


def test_what_a_change_does_costs_the_same_however_long_the_history(
    tmp_path: Path,
) -> None:
    """The reads and writes of a mutating rpc cost the same (SQLite's virtual machine steps,
    counted) beside 3 operations and resources as beside 600: an Update once looked for its
    resource's unfinished operation among every operation the resource had, and slowed as
    the resource was changed."""
    storage = SqliteStorage(str(tmp_path / "steps.sqlite3"))
    connection = storage._write_connection
    change: dict[str, Callable[[Transaction], object]] = {
        "get_resource": lambda t: t.get_resource("k", "r0"),
        "find_by_name": lambda t: t.find_by_name("k", "f", "n0"),
        "unfinished_operation_of": lambda t: t.unfinished_operation_of("k", "r0"),
        "get_operation": lambda t: t.get_operation("o1"),
        "get_idempotency": lambda t: t.get_idempotency("key"),
        "put_resource": lambda t: t.put_resource(
            StoredResource("k", "r0", "f", "n0", b"x", True), (("name", "n0"),)
        ),
        "put_operation": lambda t: t.put_operation(
            StoredOperation("new", "k", "r0", 10_000, False, b"")
        ),
    }

    def grow_to(count: int) -> None:
        """Resources r0.. and finished operations of r0, `count` of each."""
        with storage.transaction() as transaction:
            for number in range(count):
                transaction.put_resource(
                    StoredResource("k", f"r{number}", "f", f"n{number}", b"", True),
                    (("name", f"n{number}"),),
                )
                transaction.put_operation(
                    StoredOperation(f"o{number}", "k", "r0", number, True, b"")
                )

    def steps() -> dict[str, int]:
        counted = dict.fromkeys(change, 0)
        for name, step in change.items():

            def count(name: str = name) -> int:
                counted[name] += 1
                return 0  # go on

            with pytest.raises(_RolledBack), storage.transaction() as transaction:
                connection.set_progress_handler(count, 1)
                step(transaction)
                connection.set_progress_handler(None, 1)
                raise _RolledBack
        return counted

    grow_to(3)
    few = steps()
    grow_to(600)
    many = steps()
    storage.close()
    assert all(few.values())
    grown = {name: many[name] for name in change if many[name] > few[name] * 1.5 + 20}
    assert not grown, (few, many)
