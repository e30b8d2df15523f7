"""What the method layer asks of a call, whatever transport brought it.

`ResourceService`, authentication, idempotency and errors read a call's incoming metadata, set
its trailing metadata, abort it with a status, and ask how long it may still run: nothing else.
`grpc.ServicerContext` is one such context (the gRPC transport passes its own); the HTTP
transport (`rest`) passes an adapter that takes headers for metadata and turns an abort into
the HTTP answer. So each transport adds an adapter, and the methods have one meaning.
"""

from __future__ import annotations

from typing import NoReturn, Protocol, Sequence, Union

import grpc

Metadatum = tuple[str, Union[str, bytes]]


class CallContext(Protocol):
    def invocation_metadata(self) -> Sequence[Metadatum]:
        """The call's incoming metadata (headers), keys in lower case."""

    def set_trailing_metadata(self, trailing_metadata: tuple[Metadatum, ...]) -> None:
        """Metadata sent back with the answer, success or error."""

    def trailing_metadata(self) -> Sequence[Metadatum]:
        """What `set_trailing_metadata` set."""

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        """Ends the call with `status` (its trailing metadata carries the google.rpc.Status);
        never returns."""

    def time_remaining(self) -> float:
        """Seconds before the call's deadline."""

    def is_active(self) -> bool:
        """Whether the caller still waits for the answer."""
