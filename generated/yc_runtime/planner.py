"""The query planner: a List's parent, filter and order_by turned into storage reads.

Storage keeps, for each resource, the values of its indexed fields (`ResourceSpec.indexed_fields`)
as index keys, and walks them in order from a key-set position (`Storage.scan`). A List is
answered by one such walk per parent, so that a page costs about the same whatever the parent
holds:

- ordered by id (the default), or by one indexed field (with the id tie-break): the walk goes
  along that index;
- with an equality condition on an indexed field (or on the id) and an order that this value
  leaves to the id: the walk goes along the resources with that value only.

Every other condition is checked on the resources the walk reaches, so its cost grows with the
resources it skips. A List across every parent walks the ids of the whole type. An order that no
index gives (by two fields or more, by a field that is not indexed, or by any field across every
parent) reads, decodes and sorts every resource in scope: its cost grows with the collection.
A List across several parents (those of a bound token) merges one walk per parent.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from google.protobuf.message import Message

from .paging import paginate
from .query import (
    FieldValue,
    Filter,
    Ordering,
    QueryField,
    equal_to,
    parse_filter,
    parse_order_by,
    query_field,
)
from .specs import ResourceSpec
from .storage import (
    IndexEntry,
    IndexKeys,
    IndexScan,
    IndexValue,
    StoredResource,
    Transaction,
)

_LARGEST_BATCH = 1024  # resources one storage read returns at most
# A page's reader calls its `check` after this many resources: often enough to stop within
# milliseconds once the call's deadline has passed, rarely enough to cost nothing.
_CHECK_EVERY = 64


@dataclass(frozen=True)
class _Walk:
    """How one parent's resources are read in the order of a List.

    `field` "" walks ids. With a `value`, only the resources with that value, by id. Without,
    by the field's values `descending` or not, then by id `ids_descending` or not.
    """

    field: str
    value: IndexValue | None
    descending: bool
    ids_descending: bool
    # The order's field, whose value a position holds first (None: the order is by id).
    field_term: QueryField | None
    id_term: int  # where a position holds the id

    def after(self, values: Sequence[FieldValue]) -> tuple[IndexValue, str]:
        """The storage position of a page token's position (the values of the terms)."""
        resource_id = str(values[self.id_term])
        if self.value is not None:
            return (self.value, resource_id)
        if self.field_term is None:
            return (resource_id, resource_id)
        return (self.field_term.index_value(values[0]), resource_id)


class ListQuery:
    """A planned List: what its page tokens are bound to, and how to read a page."""

    def __init__(
        self,
        planner: QueryPlanner,
        scope: str,
        matcher: Filter,
        ordering: Ordering,
    ) -> None:
        self._planner = planner
        self._matcher = matcher
        self.ordering = ordering
        # How to read a parent, and every parent at once (None: sort every resource).
        self._walks = {
            every: planner.walk(matcher, ordering, every) for every in (False, True)
        }
        # Tokens name the List's parent as the request gave it, and the canonical filter and
        # order: the same query after a restart takes the same tokens.
        self.fingerprint = f"{scope}\n{matcher.fingerprint}\n{ordering.fingerprint}"

    def indexed(self, parents: tuple[str, ...] | None) -> bool:
        """Whether pages are read from an index (else every resource in scope is sorted)."""
        return self._walks[parents is None] is not None

    def page(
        self,
        transaction: Transaction,
        parents: tuple[str, ...] | None,
        position: Sequence[FieldValue] | None,
        size: int,
        check: Callable[[], None] = lambda: None,
    ) -> tuple[list[Message], Message | None]:
        """At most `size` matching resources under `parents` (None: under every parent) after
        `position` (the values of the ordering's terms, from a page token), and the last of
        them if more remain (else None).

        `check` is called every `_CHECK_EVERY` resources read; what it raises (the call's
        deadline has passed) stops the page, and the transaction with it."""
        walk = self._walks[parents is None]
        scopes: Sequence[str | None] = (None,) if parents is None else parents
        if walk is None:
            return self._sorted_page(transaction, scopes, position, size, check)
        after = walk.after(position) if position is not None else None
        streams = [
            self._planner.decoded(self._records(transaction, walk, parent, after, size))
            for parent in scopes
        ]
        if len(streams) == 1:
            merged: Iterator[Message] = streams[0]
        else:  # the parents of a bound token
            merged = heapq.merge(*streams, key=self.ordering.key)
        found: list[Message] = []
        for message in _checked(merged, check):
            if self._matcher.matches(message):
                found.append(message)
                if len(found) > size:
                    break
        more = len(found) > size
        return found[:size], found[size - 1] if more else None

    def _records(
        self,
        transaction: Transaction,
        walk: _Walk,
        parent: str | None,
        after: tuple[IndexValue, str] | None,
        size: int,
    ) -> Iterator[StoredResource]:
        scan = IndexScan(
            self._planner.kind,
            parent,
            walk.field,
            walk.value,
            after,
            walk.descending,
            size + 1,  # a page, and one more to tell whether more remain
        )
        if walk.value is not None or walk.descending == walk.ids_descending:
            return _entries(transaction, scan._replace(descending=walk.ids_descending))
        return _grouped(transaction, scan, walk.ids_descending)

    def _sorted_page(
        self,
        transaction: Transaction,
        scopes: Sequence[str | None],
        position: Sequence[FieldValue] | None,
        size: int,
        check: Callable[[], None],
    ) -> tuple[list[Message], Message | None]:
        records = [
            record
            for parent in scopes
            for record in transaction.list_resources(self._planner.kind, parent)
        ]
        items = sorted(
            (
                message
                for message in _checked(self._planner.decoded(iter(records)), check)
                if self._matcher.matches(message)
            ),
            key=self.ordering.key,
        )
        after = None if position is None else self.ordering.key_from_position(position)
        return paginate(items, self.ordering.key, after, size)


def _checked(
    messages: Iterator[Message], check: Callable[[], None]
) -> Iterator[Message]:
    """`messages`, with `check()` called before every `_CHECK_EVERY`-th."""
    for count, message in enumerate(messages, 1):
        if not count % _CHECK_EVERY:
            check()
        yield message


def _entries(transaction: Transaction, scan: IndexScan) -> Iterator[StoredResource]:
    """The resources of a scan, read in batches that grow while the reader wants more."""
    while True:
        entries = transaction.scan(scan)
        for entry in entries:
            yield entry.resource
        if len(entries) < scan.limit:
            return
        last = entries[-1]
        scan = scan._replace(
            after=(last.value, last.resource.id),
            limit=min(2 * scan.limit, _LARGEST_BATCH),
        )


def _grouped(
    transaction: Transaction, scan: IndexScan, ids_descending: bool
) -> Iterator[StoredResource]:
    """Resources by a field's value in `scan`'s direction, then by id in the other.

    The index gives both in one direction, so entries are read in batches that way, and the
    ids of each value the batch holds in full are turned around; a value that may go on past
    the batch is read on its own, by id."""
    in_group = scan._replace(descending=ids_descending)
    after = scan.after
    if after is not None:  # first the rest of the value the position is in
        value, _ = after
        yield from _entries(transaction, in_group._replace(value=value))
        after = (value, None)
    limit = scan.limit
    while True:
        batch = transaction.scan(scan._replace(after=after, limit=limit))
        runs: list[list[IndexEntry]] = []
        for entry in batch:
            if runs and runs[-1][0].value == entry.value:
                runs[-1].append(entry)
            else:
                runs.append([entry])
        if len(batch) < limit:  # the last value is in full too
            for run in runs:
                yield from (entry.resource for entry in reversed(run))
            return
        for run in runs[:-1]:
            yield from (entry.resource for entry in reversed(run))
        value = runs[-1][0].value
        yield from _entries(transaction, in_group._replace(value=value, after=None))
        after = (value, None)
        limit = min(2 * limit, _LARGEST_BATCH)


class QueryPlanner:
    """Plans the Lists of one resource type, and makes the index keys it plans with."""

    def __init__(self, resource: ResourceSpec[Any]) -> None:
        self.kind = resource.kind
        self._message = resource.message
        self._id_field = resource.id_field
        # Storage walks ids in the order of one string: a key of one string part.
        self._walks_ids = len(resource.key) == 1 and resource.string_key
        descriptor = resource.message.DESCRIPTOR
        try:
            self._indexed = {
                name: query_field(descriptor, name) for name in resource.indexed_fields
            }
        except KeyError as error:
            raise ValueError(
                f"{resource.kind}: indexed field {error} is not a top-level scalar, enum "
                "or Timestamp field"
            ) from None

    @property
    def signature(self) -> str:
        """What the index keys of a stored resource depend on: which fields are indexed."""
        return ",".join(self._indexed)

    def keys(self, resource: Message) -> IndexKeys:
        """The index keys of a resource, which storage keeps with it."""
        return [
            (name, field.index_value(field.value(resource)))
            for name, field in self._indexed.items()
        ]

    def decoded(self, records: Iterator[StoredResource]) -> Iterator[Message]:
        decode: Callable[[bytes], Message] = self._message.FromString
        for record in records:
            yield decode(record.data)

    def plan(
        self,
        scope: str,
        filter_text: str,
        order_by_text: str,
        request: Message | None = None,
        equal_fields: Sequence[str] = (),
    ) -> ListQuery:
        """A List of the resources that match `filter_text` (and equal the request's
        `equal_fields`, where set), in the order of `order_by_text`; `scope` names the
        request's parent, for page tokens. Raises QueryError for a malformed filter or
        order."""
        descriptor = self._message.DESCRIPTOR
        also = (
            equal_to(request, equal_fields, descriptor) if request is not None else []
        )
        matcher = parse_filter(filter_text, descriptor, also)
        ordering = parse_order_by(
            order_by_text, descriptor, f"{self._id_field} asc", self._id_field
        )
        return ListQuery(self, scope, matcher, ordering)

    def walk(
        self, matcher: Filter, ordering: Ordering, every_parent: bool
    ) -> _Walk | None:
        """How to read a parent's resources for this order and filter; None: sort them all."""
        if not self._walks_ids:
            return None
        terms = list(ordering.terms)
        ids = next(
            (n for n, t in enumerate(terms) if t.field.name == self._id_field), None
        )
        if ids is None:
            return None
        # Terms after the id, which is unique, change nothing.
        leading, by_id = terms[:ids], terms[ids]
        equal: dict[str, IndexValue] = {}
        for field, expected in matcher.equalities:
            if field.name in self._indexed or field.name == self._id_field:
                equal.setdefault(field.name, field.index_value(expected))
        if not leading:
            indexed = [name for name in equal if name != self._id_field]
            if indexed and not every_parent:
                name = indexed[0]
                return _Walk(name, equal[name], False, by_id.descending, None, ids)
            value = equal.get(self._id_field)
            return _Walk("", value, by_id.descending, by_id.descending, None, ids)
        if len(leading) > 1 or every_parent:
            return None
        term = leading[0]
        if term.field.name not in self._indexed:
            return None
        value = equal.get(term.field.name)
        return _Walk(
            term.field.name, value, term.descending, by_id.descending, term.field, ids
        )
