"""Drives an asyncio client from synchronous test code, so that one test covers both clients.

`Blocking(factory)` builds the async client on an event loop of its own (grpc.aio channels belong
to the loop they are made on) and mirrors it: a coroutine a method returns is awaited, an async
iterator becomes an iterator, and an object of the runtime (an operation future, a pager) is
mirrored in turn. Anything else (messages, exceptions) comes back as it is.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Awaitable, Callable, Iterator, TypeVar

from yc_runtime import client as runtime

T = TypeVar("T")
_MIRRORED = (runtime.AsyncOperation, runtime.AsyncPager)


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class Blocking:
    def __init__(self, factory: Callable[[], Any], loop: _Loop | None = None) -> None:
        self._owns_loop = loop is None
        self._loop = loop or _Loop()

        async def build() -> Any:
            return factory()

        self._target = self._loop.run(build())

    @classmethod
    def _mirror(cls, target: Any, loop: _Loop) -> "Blocking":
        mirrored = cls.__new__(cls)
        mirrored._owns_loop, mirrored._loop, mirrored._target = False, loop, target
        return mirrored

    def _sync(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            return self._sync(self._loop.run(value))
        if isinstance(value, _MIRRORED):
            return Blocking._mirror(value, self._loop)
        if inspect.isasyncgen(value):
            return self._iterate(value)
        return value

    def _iterate(self, iterator: Any) -> Iterator[Any]:
        while True:
            try:
                yield self._loop.run(iterator.__anext__())
            except StopAsyncIteration:
                return

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value):
            return lambda *args, **kwargs: self._sync(value(*args, **kwargs))
        return self._sync(value)

    def __iter__(self) -> Iterator[Any]:
        return self._iterate(self._target.__aiter__())

    def close(self) -> None:
        self._loop.run(self._target.close())
        if self._owns_loop:
            self._loop.stop()

    def __enter__(self) -> "Blocking":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
