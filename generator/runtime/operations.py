"""Long-running operations: creation, storage, delayed completion, and OperationService."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import grpc
from google.protobuf.message import Message

from yandex.cloud.operation import (
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)

from .auth import Authenticator, Principal
from .errors import ApiError, ServerFault, invalid_argument, not_found, rpc
from .ids import new_id
from .storage import Storage, StoredOperation, Transaction
from .contract import Bound, CheckKind, HttpRoute, PathVariable
from .validation import Check, FieldRules, MessageRules, Validator

log = logging.getLogger(__name__)

Operation = operation_pb2.Operation
# Seconds after which an operation whose completion met a ServerFault (a full disk) is tried
# again; it stays unfinished meanwhile.
_RETRY_AFTER_FAULT = 1.0


@dataclass(frozen=True)
class Completion:
    """How a service finishes its delayed operations of one rpc.

    `complete` does the work inside a transaction and returns the operation's response; an
    ApiError from it rolls that transaction back and fails the operation, after `revert` undid,
    in a new transaction, what the rpc did when it was called (e.g. a CREATING status).
    """

    complete: Callable[[Transaction, StoredOperation], Message]
    revert: Callable[[Transaction, StoredOperation], None]


def new_operation(
    description: str, metadata: Message | None, created_by: str, now_ns: int
) -> Operation:
    """An operation just started; `metadata` is None for an rpc whose operation has none."""
    operation = Operation(id=new_id(), description=description, created_by=created_by)
    operation.created_at.FromNanoseconds(now_ns)
    operation.modified_at.FromNanoseconds(now_ns)
    if metadata is not None:
        operation.metadata.Pack(metadata)
    return operation


def finish(operation: Operation, now_ns: int, response: Message) -> None:
    operation.done = True
    operation.modified_at.FromNanoseconds(now_ns)
    operation.response.Pack(response)


def fail(operation: Operation, now_ns: int, error: ApiError) -> None:
    operation.done = True
    operation.modified_at.FromNanoseconds(now_ns)
    operation.error.CopyFrom(error.to_status())


def cancelled() -> ApiError:
    return ApiError(grpc.StatusCode.CANCELLED, "Operation was cancelled")


class Scheduler:
    """Completes delayed operations when they are due, on one background thread.

    Unfinished operations are stored with the rpc that completes them, so a restarted server
    picks them up again: `start()` reschedules everything still unfinished. Over a storage that
    other processes share, the scheduler also looks for due operations every `POLL` seconds:
    those of a process that stopped or was killed are completed by another. Each completes once
    however many schedulers see it: `complete` is a write transaction, which finds the
    operation done if another completed it first.
    """

    POLL = 1.0  # seconds between looks for due operations in a shared storage
    _POLLED = 100  # due operations taken at most per look

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._completions: dict[str, Completion] = {}
        self._queue: list[tuple[float, str]] = []
        self._queued: set[str] = set()  # the ids in `_queue`
        self._wakeup = threading.Condition()
        self._stopping = False
        self._next_poll = 0.0  # time.time() of the next look, for a shared storage
        self._thread = threading.Thread(
            target=self._run, name="operations", daemon=True
        )

    def register(self, method: str, completion: Completion) -> None:
        self._completions[method] = completion

    def start(self) -> None:
        with self._storage.read() as transaction:
            unfinished = transaction.unfinished_operations()
        for operation in unfinished:
            self.schedule(operation.id, operation.due)
        self._next_poll = time.time() + self.POLL
        self._thread.start()

    def schedule(self, operation_id: str, due: float) -> None:
        with self._wakeup:
            if operation_id in self._queued:
                return
            self._queued.add(operation_id)
            heapq.heappush(self._queue, (due, operation_id))
            self._wakeup.notify()

    def stop(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopping and not self._ready():
                    self._wakeup.wait(self._until_next())
                if self._stopping:
                    return
                if self._queue and self._queue[0][0] <= time.time():
                    _, operation_id = heapq.heappop(self._queue)
                    self._queued.discard(operation_id)
                else:
                    operation_id = ""
            if not operation_id:
                self._poll()
                continue
            try:
                self.complete(operation_id, cancel=False)
            except ServerFault:  # logged where it began: try again once it may be over
                self.schedule(operation_id, time.time() + _RETRY_AFTER_FAULT)
            except Exception:  # one broken completion must not stop the others
                log.exception("completing operation %s failed", operation_id)

    def _ready(self) -> bool:
        """Whether an operation is due, or it is time to look for some."""
        now = time.time()
        if self._queue and self._queue[0][0] <= now:
            return True
        return self._storage.shared and self._next_poll <= now

    def _until_next(self) -> float | None:
        """Seconds until the next operation is due or the next look, if any."""
        moments = [due for due, _ in self._queue[:1]]
        if self._storage.shared:
            moments.append(self._next_poll)
        return max(0.0, min(moments) - time.time()) if moments else None

    def _poll(self) -> None:
        """Schedules the due operations that other processes began."""
        self._next_poll = time.time() + self.POLL
        try:
            with self._storage.read() as transaction:
                due = transaction.due_operations(time.time(), self._POLLED)
        except ServerFault:  # logged by the storage; look again later
            return
        for operation in due:
            self.schedule(operation.id, operation.due)

    def complete(self, operation_id: str, cancel: bool) -> Operation | None:
        """Finishes (or cancels) an unfinished operation; returns it, or None if unknown.

        A finished operation is returned unchanged."""
        try:
            with self._storage.transaction() as transaction:
                record = transaction.get_operation(operation_id)
                if record is None or record.done:
                    return Operation.FromString(record.data) if record else None
                if cancel:
                    raise cancelled()
                response = self._completion(record).complete(transaction, record)
                operation = Operation.FromString(record.data)
                finish(operation, time.time_ns(), response)
                transaction.put_operation(_done(record, operation))
                return operation
        except ApiError as error:
            return self._fail(operation_id, error)

    def _fail(self, operation_id: str, error: ApiError) -> Operation | None:
        with self._storage.transaction() as transaction:
            record = transaction.get_operation(operation_id)
            if record is None or record.done:
                return Operation.FromString(record.data) if record else None
            self._completion(record).revert(transaction, record)
            operation = Operation.FromString(record.data)
            fail(operation, time.time_ns(), error)
            transaction.put_operation(_done(record, operation))
            return operation

    def _completion(self, record: StoredOperation) -> Completion:
        completion = self._completions.get(record.method)
        if completion is None:
            raise RuntimeError(f"no service completes operations of {record.method}")
        return completion


def _done(record: StoredOperation, operation: Operation) -> StoredOperation:
    return record._replace(done=True, data=operation.SerializeToString(), pending=b"")


_OPERATION_ID = FieldRules(
    "operation_id",
    (
        Check(CheckKind.REQUIRED, "The field is required."),
        Check(
            CheckKind.LENGTH,
            "The maximum string length in characters is 50.",
            bound=Bound(high=50),
        ),
    ),
)
# The constraints of yandex/cloud/operation/operation_service.proto.
_RULES = {
    "yandex.cloud.operation.GetOperationRequest": MessageRules((_OPERATION_ID,)),
    "yandex.cloud.operation.CancelOperationRequest": MessageRules((_OPERATION_ID,)),
}


class OperationService(operation_service_pb2_grpc.OperationServiceServicer):
    """`yandex.cloud.operation.OperationService` over the operations the services store.

    A caller bound to parents sees only operations on resources under them (PERMISSION_DENIED
    for others; NOT_FOUND for unknown ids, so that existence is checked before access).
    """

    def __init__(
        self,
        storage: Storage,
        scheduler: Scheduler,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._storage = storage
        self._scheduler = scheduler
        self._authenticator = authenticator or Authenticator()
        self._validator = Validator(_RULES)

    # The rules of yandex/cloud/operation/operation_service.proto, for the REST face.
    HTTP_ROUTES = (
        HttpRoute(
            "/yandex.cloud.operation.OperationService/Get",
            "GET",
            ("operations", PathVariable(("operation_id",))),
        ),
        HttpRoute(
            "/yandex.cloud.operation.OperationService/Cancel",
            "GET",
            ("operations", PathVariable(("operation_id",))),
            verb="cancel",
        ),
    )

    def add_to_server(self, server: grpc.Server) -> None:
        operation_service_pb2_grpc.add_OperationServiceServicer_to_server(self, server)

    def _validate(self, request: Message) -> None:
        violations = self._validator.violations(request)
        if violations:
            raise invalid_argument(violations)

    @rpc
    def Get(
        self,
        request: operation_service_pb2.GetOperationRequest,
        context: grpc.ServicerContext,
    ) -> Operation:
        principal = self._authenticator.principal(context)
        self._validate(request)
        record = self._authorized(principal, request.operation_id)
        return Operation.FromString(record.data)

    @rpc
    def Cancel(
        self,
        request: operation_service_pb2.CancelOperationRequest,
        context: grpc.ServicerContext,
    ) -> Operation:
        principal = self._authenticator.principal(context)
        self._validate(request)
        self._authorized(principal, request.operation_id)
        operation = self._scheduler.complete(request.operation_id, cancel=True)
        if operation is None:
            raise not_found("operation", request.operation_id)
        return operation

    def _authorized(self, principal: Principal, operation_id: str) -> StoredOperation:
        """The stored operation, if the caller may see it."""
        with self._storage.read() as transaction:
            record = transaction.get_operation(operation_id)
        if record is None:
            raise not_found("operation", operation_id)
        principal.require(record.parent, "operation", operation_id)
        return record
