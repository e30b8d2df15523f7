"""Authorization of the standard methods: which resources of one type a caller may touch.

Authentication (who calls) is `auth`'s business; a `Principal` says which parents a caller may
touch. Every standard method authenticates first, then validates the request, then authorizes:
an id that does not exist is NOT_FOUND for every caller; an id under a parent the caller may not
touch is PERMISSION_DENIED.
"""

from __future__ import annotations

from typing import Any

from .auth import Principal
from .specs import ResourceSpec


class Authorizer:
    """The access rules of one resource type, by its parent."""

    def __init__(self, resource: ResourceSpec[Any]) -> None:
        self._resource = resource

    def require_type(self, principal: Principal) -> None:
        """A caller bound to parents may touch no resource of a type without a parent."""
        if principal.restricted and not self._resource.parent_field:
            principal.require("", self._resource.label)

    def require_parent(self, principal: Principal, parent: str) -> None:
        """For a request that names the parent (List, Create, an Update that moves)."""
        principal.require(parent, self._resource.parent_label, parent)

    def require_resource(
        self, principal: Principal, resource_id: str, parent: str
    ) -> None:
        """For a request that names a stored resource (by then known to exist)."""
        principal.require(parent, self._resource.label, resource_id)

    def visible_parents(self, principal: Principal) -> tuple[str, ...] | None:
        """The parents a List that names none shows: the caller's, or None for all."""
        if principal.parents is None:
            return None
        return tuple(sorted(principal.parents))
