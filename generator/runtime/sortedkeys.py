"""A sorted set for the in-memory storage's indexes, from the standard library alone.

Items live in a list of short sorted runs, each at most `2 * _RUN` long, with the largest item of
each run in `_maxes`: finding a place is two binary searches, and inserting or removing shifts
one run rather than everything, so the cost of a change stays near constant as the set grows
to hundreds of thousands of items (a single sorted list would move them all).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Any, Generic, Iterator, TypeVar

T = TypeVar("T", bound=tuple[Any, ...])

_RUN = 256


class Above:
    """Compares greater than any string: `(value, ABOVE)` bounds every `(value, id)` entry."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ABOVE"


ABOVE = Above()


class SortedKeys(Generic[T]):
    """Distinct items of one comparable type, in ascending order."""

    def __init__(self) -> None:
        self._runs: list[list[T]] = []
        self._maxes: list[T] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, item: T) -> None:
        """Adds `item`, which the set must not hold yet."""
        if not self._runs:
            self._runs.append([item])
            self._maxes.append(item)
        else:
            index = bisect_left(self._maxes, item)
            if index == len(self._maxes):  # past every run: the last one grows
                index -= 1
                self._runs[index].append(item)
                self._maxes[index] = item
            else:
                insort(self._runs[index], item)
            run = self._runs[index]
            if len(run) > 2 * _RUN:
                self._runs.insert(index + 1, run[_RUN:])
                del run[_RUN:]
                self._maxes.insert(index, run[-1])
        self._size += 1

    def discard(self, item: T) -> None:
        """Removes `item` if the set holds it."""
        index = bisect_left(self._maxes, item)
        if index == len(self._maxes):
            return
        run = self._runs[index]
        position = bisect_left(run, item)
        if position == len(run) or run[position] != item:
            return
        del run[position]
        self._size -= 1
        if not run:
            del self._runs[index]
            del self._maxes[index]
        elif position == len(run):
            self._maxes[index] = run[-1]

    def after(self, bound: Any, descending: bool = False) -> Iterator[T]:
        """Items strictly after `bound` (None: from the first) in ascending order, or, when
        `descending`, strictly before it (None: from the last) in descending order. The set
        must not change while the iterator is in use."""
        runs = self._runs
        if not descending:
            index = 0 if bound is None else bisect_right(self._maxes, bound)
            for number in range(index, len(runs)):
                run = runs[number]
                start = 0
                if number == index and bound is not None:
                    start = bisect_right(run, bound)
                yield from run[start:] if start else run
            return
        index = len(runs) - 1
        if bound is not None:
            index = min(index, bisect_left(self._maxes, bound))
        for number in range(index, -1, -1):
            run = runs[number]
            end = len(run)
            if number == index and bound is not None:
                end = bisect_left(run, bound)
            yield from reversed(run[:end])
