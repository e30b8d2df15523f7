"""The actions of a resource that the server implements, recognised from shape across the
whole API: access bindings (over `yandex.cloud.access`), `Move` to `destination_<parent>`,
`Start`, `Stop` and `Restart` over the resource's lifecycle, and listing the resources of
another type that name this one (`Network.ListSubnets`). Any other rpc that is no standard
method is left to a subclass (UNIMPLEMENTED until one implements it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from generator.model import (
    EMPTY,
    OPERATION,
    Action,
    Message,
    Method,
    MethodShape,
    Resource,
    ResponseKind,
    is_string,
    unary,
)
from generator.shapes import (
    is_resource_like,
    items_of,
    key_fields,
    lists_like_the_runtime,
    missing_key,
    short,
)

_ACTION_NAMES = {"Start": Action.START, "Stop": Action.STOP, "Restart": Action.RESTART}
_ACCESS_ACTIONS = {
    "ListAccessBindingsRequest": Action.LIST_ACCESS_BINDINGS,
    "SetAccessBindingsRequest": Action.SET_ACCESS_BINDINGS,
    "UpdateAccessBindingsRequest": Action.UPDATE_ACCESS_BINDINGS,
}
ACCESS_PACKAGE = "yandex.cloud.access."


class Actions:
    """The action an rpc that is no standard method is, if the server implements it."""

    def __init__(self, messages: Mapping[str, Message]) -> None:
        self.messages = messages

    def meaning(self, resource: Resource, method: Method) -> Method:
        request = self.messages.get(method.input)
        if request is None or not unary(method):
            return replace(method, reason="an action: not named as a standard method")
        access = (
            _ACCESS_ACTIONS.get(method.input.removeprefix(ACCESS_PACKAGE))
            if method.input.startswith(ACCESS_PACKAGE)
            else None
        )
        if access is not None:
            return self._access(resource, method, access)
        if method.name == "Move":
            return self._move(resource, method, request)
        if method.name in _ACTION_NAMES:
            return self._transition(
                resource, method, request, _ACTION_NAMES[method.name]
            )
        referring = self._referring(resource, method, request)
        if referring is not None:
            return referring
        return replace(method, reason="an action: not named as a standard method")

    def _access(self, resource: Resource, method: Method, action: Action) -> Method:
        def plain(why: str) -> Method:
            return replace(method, reason=f"an action: {why}")

        if len(resource.key) != 1:
            return plain(
                f"{short(resource.message)} has a key of several fields; access bindings name it by one resource_id"
            )
        if action is not Action.LIST_ACCESS_BINDINGS:
            found = self._operation_of(method)
            if isinstance(found, str):
                return plain(found)
        return replace(
            method,
            action=action,
            shape=MethodShape(key_fields=("resource_id",)),
            reason=f"access bindings: {action.value.replace('_', ' ')} of {short(resource.message)} named by resource_id",
        )

    def _move(self, resource: Resource, method: Method, request: Message) -> Method:
        destination = (
            f"destination_{resource.parent_field}" if resource.parent_field else ""
        )
        missing = missing_key(resource, request)
        if len(resource.key) != 1 or not resource.parent_field:
            why = "the resource has no parent of its own to move from"
        elif missing:
            why = missing
        elif not is_string(request.field(destination)):
            why = f"{request.full_name} has no {destination}"
        elif self._operation_of(method, resource) is not None:
            why = str(self._operation_of(method, resource))
        else:
            return replace(
                method,
                action=Action.MOVE,
                shape=MethodShape(
                    key_fields=key_fields(resource),
                    parent_field=destination,
                    response=ResponseKind.RESOURCE,
                ),
                reason=f"Move: {short(resource.message)} to the {resource.parent_field} in {destination}",
            )
        return replace(method, reason=f"an action: named Move, but {why}")

    def _transition(
        self, resource: Resource, method: Method, request: Message, action: Action
    ) -> Method:
        lifecycle = resource.lifecycle
        needs = {
            Action.START: ("stopped", "ready"),
            Action.STOP: ("ready", "stopped"),
            Action.RESTART: ("ready",),
        }[action]
        missing = missing_key(resource, request)
        extra = [f.name for f in request.fields if f.name not in key_fields(resource)]
        if any(not part.field for part in resource.key):
            why = f"{short(resource.message)} does not record its parent"
        elif lifecycle is None:
            why = f"{short(resource.message)} has no status"
        elif any(not getattr(lifecycle, role) for role in needs):
            why = f"its status has no {' or '.join(r.upper() for r in needs if not getattr(lifecycle, r))} value"
        elif missing:
            why = missing
        elif extra:
            why = f"its request has more than the key: {', '.join(extra)}"
        elif self._operation_of(method, resource) is not None:
            why = str(self._operation_of(method, resource))
        else:
            return replace(
                method,
                action=action,
                shape=MethodShape(
                    key_fields=key_fields(resource), response=ResponseKind.RESOURCE
                ),
                reason=(
                    f"{method.name}: {short(resource.message)} from {' to '.join(getattr(lifecycle, r) for r in needs)}"
                    if action is not Action.RESTART
                    else f"Restart: {short(resource.message)} from {lifecycle.ready} to {lifecycle.ready}"
                ),
            )
        return replace(method, reason=f"an action: named {method.name}, but {why}")

    def _operation_of(
        self, method: Method, resource: Resource | None = None
    ) -> str | None:
        """Why the rpc is not an operation whose response is the resource or Empty (or,
        without `resource`, any operation); None if it is."""
        if method.output != OPERATION or method.operation is None:
            return "it does not return an Operation"
        if resource is not None and method.operation.response not in (
            resource.message,
            EMPTY,
        ):
            return (
                f"its operation's response is {method.operation.response}, "
                f"neither {resource.message} nor {EMPTY}"
            )
        return None

    def _referring(
        self, resource: Resource, method: Method, request: Message
    ) -> Method | None:
        """An action that lists, by the resource's id, the resources of another type that
        name it in a field of that name (`Network.ListSubnets` by `network_id`); None if the
        rpc is not one. The server serves it if it serves them with that field indexed.
        """
        if not method.name.startswith("List") or len(resource.key) != 1:
            return None
        items = items_of(self.messages, method)
        if items is None:
            return None
        items_field, item_type, paged = items
        key = resource.key[0].request_field
        target = self.messages.get(item_type)
        if (
            target is None
            or item_type == resource.message
            or not is_resource_like(target)
            or not is_string(target.field(key))
            or not is_string(request.field(key))
        ):
            return None
        extra = [
            f.name
            for f in request.fields
            if f.name not in {key, "page_size", "page_token"}
        ]
        if extra or (paged and not lists_like_the_runtime(request)):
            return None
        return replace(
            method,
            action=Action.LIST_REFERRING,
            shape=MethodShape(
                key_fields=(key,),
                items_field=items_field,
                paged=paged,
                target=item_type,
                target_field=key,
            ),
            reason=f"lists the {short(item_type)} resources whose {key} is the "
            f"{short(resource.message)}, where the server serves them",
        )
