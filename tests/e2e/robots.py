"""Helpers for talking to the generated RobotService of the fleet test API (tests/protos/fleet).

Import this module only once the `fleet_generated` fixture has put the generated fleet tree on
sys.path: it imports `acme.fleet.v1` at the top.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Callable

import grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from acme.fleet.v1 import robot_pb2, robot_service_pb2, robot_service_pb2_grpc
from images import details, rich_status
from yandex.cloud.operation import operation_pb2

Robot = robot_pb2.Robot
Spec = robot_pb2.Robot.Spec
Arm = robot_pb2.Robot.Spec.Arm
api = robot_service_pb2

ID = re.compile(r"[a-z][a-z0-9]{19}")

_hangars = itertools.count()


def new_hangar() -> str:
    """A hangar id no other test uses, so tests sharing a server do not see each other."""
    return f"hangar-{os.getpid()}-{next(_hangars)}"


def fails(call: Callable[[], object], code: grpc.StatusCode) -> grpc.RpcError:
    """The error of `call`, which must fail with `code` and carry the matching google.rpc.Status
    (same code, same message) in the trailing metadata."""
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() is code, error
        status = rich_status(error)
        assert status.code == code.value[0], (status, error)
        assert status.message == error.details(), (status, error)
        return error
    raise AssertionError(f"expected {code.name}, but the call succeeded")


def all_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """Every (field path, description) of the BadRequest of an INVALID_ARGUMENT, in order and
    with repeats (several constraints of one field share its path)."""
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error
    (bad_request,) = details(error, error_details_pb2.BadRequest)
    return [(item.field, item.description) for item in bad_request.field_violations]


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def robot_of(operation: operation_pb2.Operation) -> robot_pb2.Robot:
    assert operation.done and operation.HasField("response"), operation
    robot = robot_pb2.Robot()
    assert operation.response.Unpack(robot)
    return robot


def robot_id_of(operation: operation_pb2.Operation) -> str:
    metadata = robot_service_pb2.RobotMetadata()
    assert operation.metadata.Unpack(metadata), operation
    return str(metadata.robot_id)


class Robots:
    """The RobotService as a user calls it, over a real channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = robot_service_pb2_grpc.RobotServiceStub(channel)

    def create(self, hangar_id: str, **fields) -> robot_pb2.Robot:  # type: ignore[no-untyped-def]
        fields.setdefault("spec", Spec(cores=1))
        if "battery_wh" not in fields and "cable" not in fields:
            fields["battery_wh"] = 100
        request = robot_service_pb2.CreateRobotRequest(hangar_id=hangar_id, **fields)
        return robot_of(self.stub.Create(request, timeout=10))

    def get(self, robot_id: str) -> robot_pb2.Robot:
        return self.stub.Get(
            robot_service_pb2.GetRobotRequest(robot_id=robot_id), timeout=10
        )

    def update(self, robot_id: str, paths: tuple[str, ...] | None = None, **fields) -> operation_pb2.Operation:  # type: ignore[no-untyped-def]
        request = robot_service_pb2.UpdateRobotRequest(robot_id=robot_id, **fields)
        if paths is not None:
            request.update_mask.CopyFrom(mask(*paths))
        return self.stub.Update(request, timeout=10)

    def list_page(self, hangar_id: str, **fields) -> tuple[list[robot_pb2.Robot], str]:  # type: ignore[no-untyped-def]
        response = self.stub.List(
            robot_service_pb2.ListRobotsRequest(hangar_id=hangar_id, **fields),
            timeout=10,
        )
        return list(response.robots), response.next_page_token

    def list_all(self, hangar_id: str, **fields) -> list[robot_pb2.Robot]:  # type: ignore[no-untyped-def]
        """Every page, following next_page_token."""
        found: list[robot_pb2.Robot] = []
        token = ""
        while True:
            page, token = self.list_page(hangar_id, page_token=token, **fields)
            found.extend(page)
            if not token:
                return found
