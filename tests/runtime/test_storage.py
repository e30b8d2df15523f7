"""Storage (generator/runtime/storage.py): operations keep their resource's parent, in both
implementations, and SQLite files written before that get the column on first open."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from generator.runtime.storage import (
    IdempotencyRecord,
    MemoryStorage,
    SqliteStorage,
    Storage,
    StoredOperation,
    StoredResource,
)

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


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each implementation in turn (closed by the test)."""
    if request.param == "memory":
        return MemoryStorage()
    return SqliteStorage(str(tmp_path / "db"))


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
    storage.close()


def test_concurrent_writes_commit_together_and_fail_alone(tmp_path: Path) -> None:
    """Group commit: every write that returned is committed (seen by another connection),
    and one that fails takes none of the others in its batch with it."""
    path = str(tmp_path / "db")
    storage = SqliteStorage(path)
    failed: list[str] = []

    def write(worker: int) -> None:
        for index in range(40):
            name = f"r{worker}-{index}"
            try:
                with storage.transaction() as transaction:
                    transaction.put_resource(StoredResource("k", name, "f", name, b""))
                    if index % 7 == 3:
                        raise ValueError(name)
            except ValueError:
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
    with sqlite3.connect(path) as connection:
        stored = {row[0] for row in connection.execute("SELECT id FROM resources")}
    connection.close()
    expected = {f"r{w}-{i}" for w in range(8) for i in range(40)} - set(failed)
    assert len(failed) == 8 * 6 and stored == expected


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
