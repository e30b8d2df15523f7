"""The query planner (generator/runtime/planner.py) over both storages: every page of every List
equals the reference (everything in scope, filtered and sorted in Python), whichever walk the
planner chose; the walks it chooses read from indexes where README says they do; and the sorted
runs of the in-memory indexes (sortedkeys.py) behave as a sorted list."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from generator.runtime.planner import QueryPlanner
from generator.runtime.resources import ResourceStore
from generator.runtime.sortedkeys import SortedKeys
from generator.runtime.specs import ResourceSpec
from generator.runtime.storage import Storage, StoredResource
from generator.runtime.storage_sqlite import SqliteStorage

PARENTS = ("p1", "p2", "p3")
FIELDS = ("title", "size", "big", "ratio", "weight", "flag", "mode", "at", "small")


def _thing_class() -> type[Message]:
    """A resource with a field of every kind the planner indexes."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    file = descriptor_pb2.FileDescriptorProto(
        name="planner_test.proto",
        package="planner.test",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    file.enum_type.add(name="Mode").value.extend(
        [
            descriptor_pb2.EnumValueDescriptorProto(name=name, number=number)
            for number, name in enumerate(["MODE_UNSPECIFIED", "IDLE", "BUSY"])
        ]
    )
    message = file.message_type.add(name="Thing")
    types = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind, type_name) in enumerate(
        [
            ("id", types.TYPE_STRING, ""),
            ("parent_id", types.TYPE_STRING, ""),
            ("title", types.TYPE_STRING, ""),
            ("size", types.TYPE_INT64, ""),
            ("big", types.TYPE_UINT64, ""),
            ("ratio", types.TYPE_DOUBLE, ""),
            ("weight", types.TYPE_FLOAT, ""),
            ("flag", types.TYPE_BOOL, ""),
            ("mode", types.TYPE_ENUM, ".planner.test.Mode"),
            ("at", types.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
            ("small", types.TYPE_SINT32, ""),
            ("notes", types.TYPE_STRING, ""),  # not indexed
        ],
        start=1,
    ):
        added = message.field.add(
            name=name, number=number, type=kind, label=types.LABEL_OPTIONAL
        )
        if type_name:
            added.type_name = type_name
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("planner.test.Thing")
    )


Thing = _thing_class()
SPEC = ResourceSpec(
    kind="planner.test.Thing",
    label="thing",
    message=Thing,
    key=(("id", "thing_id"),),
    parent_field="parent_id",
    indexed_fields=FIELDS,
)


def random_thing(rng: random.Random, number: int) -> Message:
    """Few distinct values per field, so that walks meet long runs of equal values."""
    thing = Thing(
        id=f"t{rng.randrange(10**6):06d}{number:04d}",
        parent_id=rng.choice(PARENTS),
        title=rng.choice(["", "a", "b", "ab", "é", "Z", "\U0001f600", "a\x00"]),
        size=rng.choice([0, 1, -1, 2**62, -(2**63)]),
        big=rng.choice([0, 1, 2**63, 2**64 - 1]),
        ratio=rng.choice([0.0, -0.0, 1.5, -2.0, math.inf, -math.inf, math.nan]),
        weight=rng.choice([0.0, 0.1, -3.25]),
        flag=rng.random() < 0.5,
        mode=rng.randrange(3),
        small=rng.choice([0, -5, 7]),
        notes=rng.choice(["x", "y"]),
    )
    thing.at.seconds = rng.choice([0, 1, -62135596800, 253402300799])
    thing.at.nanos = rng.choice([0, 5])
    return thing


def fill(storage: Storage, things: list[Message]) -> QueryPlanner:
    planner = QueryPlanner(SPEC)
    store = ResourceStore(SPEC, planner)
    with storage.transaction() as transaction:
        for thing in things:
            store.store(transaction, thing)
    return planner


def reference(
    planner: QueryPlanner,
    things: list[Message],
    parents: tuple[str, ...] | None,
    filter_text: str,
    order_by: str,
) -> list[str]:
    query = planner.plan("scope", filter_text, order_by)
    matcher_query = planner.plan("scope", filter_text, "")
    in_scope = [
        thing
        for thing in things
        if (parents is None or thing.parent_id in parents)  # type: ignore[attr-defined]
        and matcher_query._matcher.matches(thing)
    ]
    return [t.id for t in sorted(in_scope, key=query.ordering.key)]  # type: ignore[attr-defined]


def paged(
    storage: Storage,
    planner: QueryPlanner,
    parents: tuple[str, ...] | None,
    filter_text: str,
    order_by: str,
    size: int,
) -> list[str]:
    """Every page in turn, resuming from positions that went through JSON, as tokens do."""
    query = planner.plan("scope", filter_text, order_by)
    found: list[str] = []
    position: list[Any] | None = None
    for _ in range(1000):
        with storage.read() as transaction:
            items, last = query.page(transaction, parents, position, size)
        assert len(items) == size or last is None
        found += [item.id for item in items]  # type: ignore[attr-defined]
        if last is None:
            return found
        raw = json.loads(json.dumps(query.ordering.position(last)))
        position = query.ordering.position_values(raw)
    raise AssertionError("paging did not end")


ORDERS = [
    "",
    "id desc",
    *(f"{field}" for field in FIELDS),
    *(f"{field} desc" for field in FIELDS),
    "title desc, id desc",
    "size, id desc",
    "title, size desc",  # two fields: sorted in Python
    "notes",  # not indexed: sorted in Python
]
FILTERS = [
    "",
    'title = "a"',
    "mode = BUSY",
    "flag = true",
    "ratio = 0",
    "big = 18446744073709551615",
    'at = "1970-01-01T00:00:01.000000005Z"',
    'title = "ab" AND mode = IDLE',
    'title:"a"',
    'notes = "x"',
    'id = "nothing"',
]
SCOPES: list[tuple[str, ...] | None] = [("p1",), ("p1", "p3"), None]


def test_every_page_equals_the_reference(storage: Storage) -> None:
    rng = random.Random(11)
    things = [random_thing(rng, number) for number in range(100)]
    planner = fill(storage, things)
    some_id = things[7].id  # type: ignore[attr-defined]
    for order_by in ORDERS:
        for filter_text in [*FILTERS, f'id = "{some_id}"']:
            for parents in SCOPES:
                expected = reference(planner, things, parents, filter_text, order_by)
                size = rng.choice([1, 3, 7, 50, 500] if parents else [3, 50])
                got = paged(storage, planner, parents, filter_text, order_by, size)
                assert got == expected, (order_by, filter_text, parents, size)


def test_pages_follow_changes(storage: Storage) -> None:
    """Keys follow updates and deletes: a List after them sees the stored values."""
    rng = random.Random(5)
    things = [random_thing(rng, number) for number in range(60)]
    planner = fill(storage, things)
    store = ResourceStore(SPEC, planner)
    with storage.transaction() as transaction:
        for thing in things[:20]:
            thing.title = rng.choice(["moved", "b"])  # type: ignore[attr-defined]
            thing.parent_id = rng.choice(PARENTS)  # type: ignore[attr-defined]
            store.store(transaction, thing)
        for thing in things[20:30]:
            store.delete(transaction, thing.id)  # type: ignore[attr-defined]
    alive = things[:20] + things[30:]
    for order_by in ("title", "title desc", ""):
        for parents in SCOPES:
            expected = reference(planner, alive, parents, "", order_by)
            assert paged(storage, planner, parents, "", order_by, 3) == expected


@pytest.mark.parametrize(
    "order_by, filter_text, parents, indexed",
    [
        ("", "", ("p1",), True),
        ("id desc", "", None, True),
        ("title desc", "", ("p1", "p2"), True),
        ("size", "mode = BUSY", ("p1",), True),
        ("", "mode = BUSY", ("p1",), True),
        ("", 'id = "x"', None, True),
        ("title, size", "", ("p1",), False),
        ("notes", "", ("p1",), False),
        ("title", "", None, False),
    ],
)
def test_which_lists_read_an_index(
    order_by: str, filter_text: str, parents: tuple[str, ...] | None, indexed: bool
) -> None:
    query = QueryPlanner(SPEC).plan("scope", filter_text, order_by)
    assert query.indexed(parents) is indexed


def test_a_database_without_keys_gets_them_once(tmp_path: Path) -> None:
    """Resources stored before their fields were indexed (an older database) are reindexed
    when the service starts, and only then."""
    path = str(tmp_path / "old.sqlite3")
    rng = random.Random(3)
    things = [random_thing(rng, number) for number in range(30)]
    storage = SqliteStorage(path)
    with storage.transaction() as transaction:
        for thing in things:
            transaction.put_resource(
                StoredResource(
                    SPEC.kind, thing.id, thing.parent_id, "", thing.SerializeToString()  # type: ignore[attr-defined]
                )
            )
    planner = QueryPlanner(SPEC)
    assert paged(storage, planner, ("p1",), "", "title", 4) == []  # no keys yet
    ResourceStore(SPEC, planner).reindex(storage)
    expected = reference(planner, things, ("p1",), "", "title")
    assert expected and paged(storage, planner, ("p1",), "", "title", 4) == expected
    storage.close()
    reopened = SqliteStorage(path)
    with reopened.read() as transaction:
        assert (
            transaction.get_meta(f"index_keys:{SPEC.kind}")
            == planner.signature.encode()
        )
    reopened.close()


def test_an_indexed_field_must_be_usable() -> None:
    bad = ResourceSpec(
        kind="k",
        label="k",
        message=Thing,
        key=(("id", "k_id"),),
        indexed_fields=("missing",),
    )
    with pytest.raises(ValueError, match="missing"):
        QueryPlanner(bad)


def test_sorted_keys_behave_as_a_sorted_list() -> None:
    rng = random.Random(7)
    keys: SortedKeys[tuple[int, str]] = SortedKeys()
    model: set[tuple[int, str]] = set()
    for step in range(20000):
        item = (rng.randrange(3000), rng.choice("ab"))
        if rng.random() < 0.6:
            if item not in model:
                keys.add(item)
                model.add(item)
        else:
            keys.discard(item)
            model.discard(item)
        if step % 997 == 0:
            ordered = sorted(model)
            assert list(keys.after(None)) == ordered and len(keys) == len(ordered)
            bound = (rng.randrange(3000), "a")
            assert list(keys.after(bound)) == [x for x in ordered if x > bound]
            assert list(keys.after(bound, descending=True)) == [
                x for x in reversed(ordered) if x < bound
            ]
            assert list(keys.after(None, descending=True)) == ordered[::-1]
