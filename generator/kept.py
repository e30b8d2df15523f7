"""Values a frozen dataclass works out on first use, then keeps.

The plugin's modules run compiled (see `native`) where they can. A compiled instance has no
`__dict__`, where `functools.cached_property` keeps its value, so a class declares a field for
each such value instead: `field(default=None, init=False, repr=False, compare=False)`, which
`dataclasses.replace` leaves unset in the copy, as the copy may differ. A compiled instance
leaves that field undefined rather than None until it is set: read it with
`getattr(self, name, None)`, and set it with `keep`.
"""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T")


def keep(instance: object, name: str, value: _T) -> _T:
    """Sets a frozen dataclass's field `name` to `value`, and gives `value` back."""
    object.__setattr__(instance, name, value)
    return value
