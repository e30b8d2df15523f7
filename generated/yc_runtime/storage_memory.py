"""Storage in this process's memory: dicts guarded by one lock (see `storage` for the
contracts). Nothing survives the process; nothing else can share it."""

from __future__ import annotations

import functools
import threading
import time
from contextlib import AbstractContextManager
from typing import Callable

from .sortedkeys import ABOVE, SortedKeys
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
                # Detached: undoing a step may log its own undo, which must not run.
                steps, self._undo = self._undo, []
                for undo in reversed(steps):
                    undo()
        finally:
            self._storage.lock.release()

    def _remember(self, table: dict[object, object], key: object) -> None:
        if key in table:
            previous = table[key]
            self._undo.append(lambda: table.__setitem__(key, previous))
        else:
            self._undo.append(lambda: table.pop(key, None))  # type: ignore[arg-type]

    def timestamp(self) -> int:
        storage = self._storage
        storage.clock = max(time.time_ns(), storage.clock + 1)
        return storage.clock

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
        if resource.unique_name and resource.name:
            named = storage.names.get(
                (resource.kind, resource.parent, resource.name), {}
            )
            if any(other != resource.id for other in named):
                raise DuplicateName(resource.kind, resource.parent, resource.name)
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
        resource = (operation.resource_kind, operation.resource_id)
        if operation.done:
            storage.unfinished.pop(operation.id, None)
        else:
            storage.unfinished[operation.id] = operation
        self._mark_unfinished(resource, operation.id, not operation.done)
        if not known:  # an operation's resource and created_at never change
            newest = storage.operations_of.setdefault(resource, SortedKeys())
            item = (operation.created_at, operation.id)
            newest.add(item)
            self._undo.append(lambda: newest.discard(item))

    def _mark_unfinished(
        self, resource: tuple[str, str], operation_id: str, unfinished: bool
    ) -> None:
        """Keeps `unfinished_of` (the resource's unfinished operations) in step, undoably."""
        unfinished_of = self._storage.unfinished_of
        if (operation_id in unfinished_of.get(resource, ())) == unfinished:
            return
        if unfinished:
            unfinished_of.setdefault(resource, {})[operation_id] = None
        else:
            ids = unfinished_of[resource]
            del ids[operation_id]
            if not ids:
                del unfinished_of[resource]
        self._undo.append(
            lambda: self._mark_unfinished(resource, operation_id, not unfinished)
        )

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
        return sorted(self._storage.unfinished.values(), key=_due)

    def due_operations(self, until: float, limit: int) -> list[StoredOperation]:
        due = (o for o in self._storage.unfinished.values() if o.due <= until)
        return sorted(due, key=_due)[:limit]

    def unfinished_operation_of(
        self, kind: str, resource_id: str
    ) -> StoredOperation | None:
        ids = self._storage.unfinished_of.get((kind, resource_id))
        return self._storage.unfinished[next(iter(ids))] if ids else None

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


def _due(operation: StoredOperation) -> float:
    return operation.due


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
        self.unfinished_of: dict[tuple[str, str], dict[str, None]] = {}  # by resource
        self.operations_of: dict[tuple[str, str], SortedKeys[tuple[int, str]]] = {}
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.meta: dict[str, bytes] = {}
        self.clock = 0  # the last timestamp a transaction took
        self.lock = threading.RLock()

    def transaction(self) -> AbstractContextManager[Transaction]:
        return _MemoryTransaction(self)

    def read(self) -> AbstractContextManager[Transaction]:
        return self.transaction()

    def close(self) -> None:
        pass
