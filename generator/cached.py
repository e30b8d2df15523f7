"""`cached_property` as Python 3.12's functools has it: computed on the first read, then kept
in the instance's `__dict__`, where later reads find it without calling the descriptor.

Python 3.11's own takes a lock (one for the whole class) around every first read: a first read
costs four times as much (0.7 µs against 0.18 µs for a value as cheap as a field's message
type), and a run makes tens of thousands (a field's message type, a message's fields by name,
a field's rules by kind), in one thread.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, overload

_T = TypeVar("_T")


class cached_property(Generic[_T]):  # lower case, as functools names it
    def __init__(self, function: Callable[[Any], _T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(
        self, instance: None, owner: type | None = None
    ) -> cached_property[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value
