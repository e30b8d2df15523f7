"""Links between the resources of one server: which fields name another resource, which
resources name one, and which are keyed by one. Each generated module knows only its own
resource (a file is generated alone as in a whole run), so the server links them when it
starts, and the generator's inventory of the whole API applies the same rule (`link`).

A field `<x>_id` (or `<x>_ids`) of a resource names a resource of its package whose message
is `X`, when the server makes that resource (it has a Create) and names it by one generated id:
a Create or Update must name one that exists. A resource that others of its parent name cannot
be deleted while they do (the named field must be indexed, and the parents alike, for the check
to cost a page). A resource whose key begins with another's id (a cluster's databases) is
deleted with it.
"""

from __future__ import annotations

from typing import Iterable, Mapping, NamedTuple, Sequence


class Linkable(NamedTuple):
    """What linking needs of a resource type."""

    kind: str  # the resource message's full name
    label: str
    key: tuple[
        tuple[str, str], ...
    ]  # (resource field, request field), the parent's first
    generated_id: bool
    parent_field: str
    creatable: bool  # the server has a Create for it
    indexed_fields: tuple[str, ...]
    # Fields that may name another resource: (field, the message it would name, repeated).
    references: tuple[tuple[str, str, bool], ...]


class Links(NamedTuple):
    references: tuple[tuple[str, str, str], ...] = ()  # (field, kind, label)
    referred_by: tuple[tuple[str, str, str], ...] = ()  # (kind, field, label)
    children: tuple[str, ...] = ()  # kinds keyed by this one's id


def reference_candidates(
    kind: str, fields: Iterable[tuple[str, bool]], key: Sequence[tuple[str, str]]
) -> tuple[tuple[str, str, bool], ...]:
    """The string fields (name, repeated) of a resource that may name another resource by
    id, with the message they would name: `network_id` of `yandex.cloud.vpc.v1.Subnet` names a
    `yandex.cloud.vpc.v1.Network`; never the key's own part."""
    package = kind.rsplit(".", 1)[0]
    found = []
    for name, repeated in fields:
        suffix = "_ids" if repeated else "_id"
        stem = name.removesuffix(suffix)
        if stem == name or not stem or name == key[-1][0]:
            continue
        target = "".join(part.capitalize() for part in stem.split("_"))
        found.append((name, f"{package}.{target}", repeated))
    return tuple(found)


def _outside_reference(resource: Linkable) -> tuple[tuple[str, str, bool], ...]:
    """A parent that the resource does not record, kept beside it (a VirtualHost's
    `http_router_id`), names a resource as a field of that name would: field "" stands for
    it."""
    field, request_field = resource.key[0]
    if field or len(resource.key) == 1:
        return ()
    candidates = reference_candidates(
        resource.kind, [(request_field, False)], [("", "")]
    )
    return tuple(("", target, repeated) for _, target, repeated in candidates)


def link(resources: Iterable[Linkable]) -> dict[str, Links]:
    """The links of each resource type among `resources`."""
    by_kind: Mapping[str, Linkable] = {r.kind: r for r in resources}
    named = {
        kind: found
        for kind, found in by_kind.items()
        if found.creatable and found.generated_id and len(found.key) == 1
    }
    references: dict[str, list[tuple[str, str, str]]] = {}
    referred_by: dict[str, list[tuple[str, str, str]]] = {}
    children: dict[str, list[str]] = {}
    owners = {(r.kind.rsplit(".", 1)[0], r.key[0][1]): r for r in named.values()}
    for resource in by_kind.values():
        outside = _outside_reference(resource)
        for field, target_kind, repeated in resource.references + outside:
            target = named.get(target_kind)
            if target is None or target.kind == resource.kind:
                continue
            references.setdefault(resource.kind, []).append(
                (field, target.kind, target.label)
            )
            if (
                not repeated
                and field in resource.indexed_fields
                and target.parent_field
                and target.parent_field == resource.parent_field
            ):
                referred_by.setdefault(target.kind, []).append(
                    (resource.kind, field, resource.label)
                )
        if len(resource.key) > 1:
            owner = owners.get((resource.kind.rsplit(".", 1)[0], resource.key[0][1]))
            if owner is not None:
                children.setdefault(owner.kind, []).append(resource.kind)
    return {
        kind: Links(
            tuple(references.get(kind, ())),
            tuple(referred_by.get(kind, ())),
            tuple(children.get(kind, ())),
        )
        for kind in by_kind
    }
