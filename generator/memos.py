"""The memos of the docs views: what pages share (sections, rows, JSON, YAML properties),
kept within bounds.

A run renders a package's pages one after another in one process (`plugin.output_jobs`
groups them), and they share most of what they are made of; pages of other packages share
less, but still some (the types that many packages use). Kept for the whole run, the memos
grew with every page: on the whole public API's docs, to about 120 MiB in one process by the
end. So between one package's pages and the next's, they are all dropped once together they
hold more than `LIMIT` entries (a few packages' worth): in one process, the docs of the whole
public API then grow by about 20 MiB and compute 2% more of what pages share (dropped at every
package, 13% more). What holds for the whole API (how names resolve, which page a link goes
to) is kept apart, for the run.
"""

from __future__ import annotations

from typing import Any

LIMIT = 25_000


class Memos:
    """Dicts made here, emptied together by `trim`."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._memos: list[dict[Any, Any]] = []

    def new(self) -> dict[Any, Any]:
        memo: dict[Any, Any] = {}
        self._memos.append(memo)
        return memo

    def trim(self) -> None:
        """Empties every memo if together they hold more than the limit."""
        if sum(map(len, self._memos)) > self.limit:
            for memo in self._memos:
                memo.clear()
