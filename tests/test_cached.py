"""`generator.cached.cached_property`: computed on the first read, then read from the instance."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.cached import cached_property


@dataclass(frozen=True)
class Counted:
    value: int
    calls: list[int] = field(default_factory=list)

    @cached_property
    def doubled(self) -> int:
        """Twice the value."""
        self.calls.append(self.value)
        return self.value * 2


def test_computed_once_then_kept_in_the_instance() -> None:
    item = Counted(3)
    assert (item.doubled, item.doubled) == (6, 6)
    assert item.calls == [3]
    assert item.__dict__["doubled"] == 6


def test_each_instance_has_its_own_value() -> None:
    first, second = Counted(1), Counted(2)
    assert (first.doubled, second.doubled) == (2, 4)
    assert (first.calls, second.calls) == ([1], [2])


def test_read_on_the_class_gives_the_descriptor() -> None:
    descriptor = Counted.__dict__["doubled"]
    assert Counted.doubled is descriptor
    assert descriptor.__doc__ == "Twice the value."
