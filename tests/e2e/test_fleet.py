"""The generated server is general: RobotService of the fleet test API (tests/protos/fleet),
shaped unlike ImageService, served by its generated api_server.py and called over real gRPC.

The fleet API differs from the image API on purpose: the parent is `hangar_id`, the resource has
no `name` (so no ALREADY_EXISTS), it has nested messages (Robot.Spec, Robot.Spec.Arm), a oneof
(`power`, `exactly_one` on Create), repeated scalars with size/unique/length constraints, a
repeated message, enums, a proto3 `optional` field, and an action rpc (`Charge`).
"""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import grpc
import pytest
from google.protobuf import empty_pb2
from google.rpc import error_details_pb2

from images import details, violations
from support import ROOT, ServerProcess

REQUIRED = "The field is required."
CABLE = "Value must match the regular expression ` [A-Z][0-9]+ `."
BATTERY = "Acceptable values are 1 to 10000, inclusive."
SPEED = "Acceptable values are 0 to 30, inclusive."
TAG_LENGTH = "The string length in characters for each value must be 1-20."
TAGS_SIZE = "The maximum number of elements is 5."
TAGS_UNIQUE = "The elements must be unique."
POWER = "Exactly one of the fields `battery_wh`, `cable` must be set."
TITLE = "The maximum string length in characters is 100."
ALLOWED = (
    "display_title, spec, spec.cores, spec.memory_bytes, spec.arm, spec.arm.reach_cm, "
    "spec.arm.gripper, battery_wh, cable, tags, spare_arms, mode, max_speed"
)


@pytest.fixture(scope="module")
def fleet_server(fleet_generated: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(fleet_generated, "--db", ":memory:").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fleet_channel(fleet_server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(fleet_server.address) as opened:
        yield opened


@pytest.fixture(scope="module")
def fleet(fleet_generated: Path) -> ModuleType:
    """tests/e2e/robots.py, which imports acme.fleet.v1: only importable once the fleet tree
    is on sys.path."""
    import robots

    return robots


@pytest.fixture
def robots(fleet: ModuleType, fleet_channel: grpc.Channel) -> Any:
    return fleet.Robots(fleet_channel)


@pytest.fixture
def operations(fleet_channel: grpc.Channel) -> Any:
    from yandex.cloud.operation import operation_service_pb2_grpc

    return operation_service_pb2_grpc.OperationServiceStub(fleet_channel)


@pytest.fixture
def robot(fleet: ModuleType, robots: Any) -> Any:
    """A robot with every field Create can set."""
    return robots.create(
        fleet.new_hangar(),
        display_title="original",
        spec=fleet.Spec(
            cores=4, memory_bytes=1024, arm=fleet.Arm(reach_cm=50, gripper="claw")
        ),
        battery_wh=800,
        tags=["a", "b"],
        mode=fleet.Robot.IDLE,
        max_speed=10.0,
    )


def _copy(fleet: ModuleType, robot: Any) -> Any:
    copied = fleet.Robot()
    copied.CopyFrom(robot)
    return copied


# --- Create ------------------------------------------------------------------------------------


def test_create_copies_every_field_and_fills_server_fields(
    fleet: ModuleType, robots: Any
) -> None:
    hangar = fleet.new_hangar()
    spec = fleet.Spec(
        cores=8, memory_bytes=2**33, arm=fleet.Arm(reach_cm=120, gripper="claw")
    )
    request = fleet.api.CreateRobotRequest(
        hangar_id=hangar,
        display_title="Unit 1",
        spec=spec,
        cable="C12",
        tags=["night", "north"],
        mode=fleet.Robot.PATROL,
        max_speed=12.5,
    )
    operation = robots.stub.Create(request)
    assert fleet.ID.fullmatch(operation.id), operation.id
    assert operation.done and operation.description == "Create robot"
    assert operation.created_at.seconds > 0
    robot = fleet.robot_of(operation)
    assert fleet.ID.fullmatch(robot.id), robot.id
    assert robot.id != operation.id
    assert fleet.robot_id_of(operation) == robot.id
    assert robot.status == fleet.Robot.READY
    assert robot.created_at.seconds > 0
    expected = fleet.Robot(
        id=robot.id,
        hangar_id=hangar,
        display_title="Unit 1",
        spec=spec,
        cable="C12",
        tags=["night", "north"],
        mode=fleet.Robot.PATROL,
        status=fleet.Robot.READY,
        created_at=robot.created_at,
        max_speed=12.5,
    )
    assert robot == expected
    assert robot.WhichOneof("power") == "cable" and not robot.HasField("battery_wh")
    assert robot.HasField("max_speed")
    assert robots.get(robot.id) == robot


def test_create_keeps_presence_of_optional_and_oneof_fields(
    fleet: ModuleType, robots: Any
) -> None:
    hangar = fleet.new_hangar()
    unlimited = robots.create(hangar, battery_wh=500)
    assert unlimited.WhichOneof("power") == "battery_wh"
    assert unlimited.battery_wh == 500
    assert not unlimited.HasField("max_speed")
    assert not robots.get(unlimited.id).HasField("max_speed")
    stopped = robots.create(hangar, cable="A1", max_speed=0.0)
    assert stopped.HasField("max_speed") and stopped.max_speed == 0.0
    assert robots.get(stopped.id).HasField("max_speed")
    assert stopped.WhichOneof("power") == "cable"


def test_create_accepts_values_on_the_bounds(fleet: ModuleType, robots: Any) -> None:
    robot = robots.create(
        fleet.new_hangar(),
        display_title="t" * 100,
        battery_wh=10000,
        tags=[f"{index}" * 20 for index in range(5)],
        max_speed=30.0,
    )
    assert robot.battery_wh == 10000 and len(robot.tags) == 5
    assert robots.create(fleet.new_hangar(), battery_wh=1).battery_wh == 1


def test_create_lists_every_violation_in_one_bad_request(
    fleet: ModuleType, robots: Any
) -> None:
    request = fleet.api.CreateRobotRequest(
        display_title="t" * 101,
        tags=["ok", "", "ok", "x" * 21, "y", "z"],
        max_speed=31.0,
    )
    error = fleet.fails(
        lambda: robots.stub.Create(request), grpc.StatusCode.INVALID_ARGUMENT
    )
    found = fleet.all_violations(error)
    assert sorted(found) == sorted(
        [
            ("hangar_id", REQUIRED),
            ("display_title", TITLE),
            ("spec", REQUIRED),
            ("tags[1]", TAG_LENGTH),
            ("tags[3]", TAG_LENGTH),
            ("tags", TAGS_SIZE),
            ("tags", TAGS_UNIQUE),
            ("max_speed", SPEED),
            ("power", POWER),
        ]
    )
    message = error.details()
    assert message.startswith("Request validation error: ")
    for field, description in found:
        assert f"{field}: {description}" in message


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"cable": "c12"}, {"cable": CABLE}),
        ({"cable": ""}, {"cable": CABLE}),  # set, if empty: the oneof has presence
        ({"battery_wh": 0}, {"battery_wh": BATTERY}),
        ({"battery_wh": 10001}, {"battery_wh": BATTERY}),
        ({"battery_wh": 5, "max_speed": -0.5}, {"max_speed": SPEED}),
        ({"battery_wh": 5, "max_speed": 30.5}, {"max_speed": SPEED}),
        ({"battery_wh": 5, "max_speed": math.inf}, {"max_speed": SPEED}),
        ({"battery_wh": 5, "max_speed": math.nan}, {"max_speed": SPEED}),
    ],
    ids=[
        "cable-pattern",
        "cable-empty",
        "battery-zero",
        "battery-high",
        "speed-low",
        "speed-high",
        "speed-inf",
        "speed-nan",
    ],
)
def test_create_checks_the_power_member_and_speed_that_are_set(
    fleet: ModuleType, robots: Any, fields: dict[str, Any], expected: dict[str, str]
) -> None:
    hangar = fleet.new_hangar()
    request = fleet.api.CreateRobotRequest(
        hangar_id=hangar, spec=fleet.Spec(cores=1), **fields
    )
    error = fleet.fails(
        lambda: robots.stub.Create(request), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert violations(error) == expected
    assert robots.list_page(hangar)[0] == []


# The option usages of the public API, each with the meaning it has there (CreateRobotRequest
# fields 9-14): `value` bounds the number inside a wrapper, a Duration and a Timestamp; `bytes`
# bounds a message's serialized size; `length` counts the bytes of a bytes field.
PAYLOAD = "Acceptable values are 0 to 500, inclusive."
EFFICIENCY = "Acceptable values are 0.0 to 1.0, inclusive."
SHIFT = "Acceptable values are 1m to 12h, inclusive."
RETIRE_AT = (
    "Acceptable values are 19700101T000000.000000000 to 21051231T235959.999999999, "
    "inclusive."
)
FIRMWARE = "The maximum size in bytes is 64."
SIGNATURE = "The maximum string length in characters is 8."


def _usages(within: bool) -> dict[str, Any]:
    from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2, wrappers_pb2

    firmware = struct_pb2.Struct()
    firmware.update({"mode": "x" * (10 if within else 100)})
    return {
        "payload_kg": wrappers_pb2.Int64Value(value=500 if within else 501),
        "efficiency": wrappers_pb2.DoubleValue(value=1.0 if within else 1.5),
        "shift": duration_pb2.Duration(seconds=60 if within else 59),
        "retire_at": timestamp_pb2.Timestamp(
            seconds=4_291_747_199 if within else 4_291_747_200  # 2105-12-31T23:59:59Z
        ),
        "firmware": firmware,
        "signature": b"\xff" * (8 if within else 9),
    }


def test_create_applies_the_public_apis_option_usages(
    fleet: ModuleType, robots: Any
) -> None:
    hangar = fleet.new_hangar()
    base = {"hangar_id": hangar, "spec": fleet.Spec(cores=1), "battery_wh": 5}
    request = fleet.api.CreateRobotRequest(**base, **_usages(within=False))
    error = fleet.fails(
        lambda: robots.stub.Create(request), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert violations(error) == {
        "payload_kg": PAYLOAD,
        "efficiency": EFFICIENCY,
        "shift": SHIFT,
        "retire_at": RETIRE_AT,
        "firmware": FIRMWARE,
        "signature": SIGNATURE,
    }
    accepted = fleet.api.CreateRobotRequest(**base, **_usages(within=True))
    operation = robots.stub.Create(accepted)
    assert operation.done and operation.HasField("response")


def test_robots_have_no_unique_name(fleet: ModuleType, robots: Any) -> None:
    """No `name` field, so no ALREADY_EXISTS: equal titles in one hangar are fine."""
    hangar = fleet.new_hangar()
    first = robots.create(hangar, display_title="twin")
    second = robots.create(hangar, display_title="twin")
    assert first.id != second.id
    assert sorted(r.id for r in robots.list_page(hangar)[0]) == sorted(
        [first.id, second.id]
    )
    # ...nor on update.
    third = robots.create(hangar, display_title="other")
    renamed = fleet.robot_of(
        robots.update(third.id, ("display_title",), display_title="twin")
    )
    assert renamed.display_title == "twin"


# --- Get ---------------------------------------------------------------------------------------


def test_get_errors(fleet: ModuleType, robots: Any) -> None:
    error = fleet.fails(lambda: robots.get("b" * 20), grpc.StatusCode.NOT_FOUND)
    (info,) = details(error, error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("robot", "b" * 20)
    error = fleet.fails(lambda: robots.get(""), grpc.StatusCode.INVALID_ARGUMENT)
    assert violations(error) == {"robot_id": REQUIRED}
    error = fleet.fails(lambda: robots.get("x" * 51), grpc.StatusCode.INVALID_ARGUMENT)
    assert violations(error) == {
        "robot_id": "The maximum string length in characters is 50."
    }


# --- Update ------------------------------------------------------------------------------------


def test_nested_leaf_path_changes_only_that_leaf(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    operation = robots.update(
        robot.id,
        ("spec.arm.reach_cm",),
        display_title="ignored",
        spec=fleet.Spec(
            cores=99, memory_bytes=7, arm=fleet.Arm(reach_cm=75, gripper="hook")
        ),
        cable="Z1",
        tags=["ignored"],
    )
    assert operation.done and operation.description == "Update robot"
    assert fleet.robot_id_of(operation) == robot.id
    updated = fleet.robot_of(operation)
    expected = _copy(fleet, robot)
    expected.spec.arm.reach_cm = 75
    assert updated == expected
    assert robots.get(robot.id) == updated


def test_nested_message_path_replaces_that_message(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    updated = fleet.robot_of(
        robots.update(
            robot.id,
            ("spec.arm", "spec.cores"),
            spec=fleet.Spec(cores=6, memory_bytes=7, arm=fleet.Arm(gripper="hook")),
        )
    )
    expected = _copy(fleet, robot)
    expected.spec.cores = 6
    expected.spec.arm.CopyFrom(fleet.Arm(gripper="hook"))  # reach_cm reset
    assert updated == expected


def test_spec_path_replaces_the_whole_message(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    updated = fleet.robot_of(
        robots.update(robot.id, ("spec",), spec=fleet.Spec(cores=2))
    )
    assert updated.spec == fleet.Spec(cores=2)
    assert updated.spec.memory_bytes == 0 and not updated.spec.HasField("arm")
    expected = _copy(fleet, robot)
    expected.spec.CopyFrom(fleet.Spec(cores=2))
    assert updated == expected
    # Masked but unset in the request: cleared.
    cleared = fleet.robot_of(robots.update(robot.id, ("spec",)))
    assert not cleared.HasField("spec")
    assert robots.get(robot.id) == cleared


def test_camel_case_paths_are_accepted(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    arms = [fleet.Arm(reach_cm=10, gripper="a"), fleet.Arm(reach_cm=20, gripper="b")]
    updated = fleet.robot_of(
        robots.update(
            robot.id,
            (
                "displayTitle",
                "spec.memoryBytes",
                "spec.arm.reachCm",
                "spareArms",
                "maxSpeed",
            ),
            display_title="camel",
            spec=fleet.Spec(cores=99, memory_bytes=4096, arm=fleet.Arm(reach_cm=9)),
            spare_arms=arms,
            max_speed=3.5,
            tags=["ignored"],
        )
    )
    expected = _copy(fleet, robot)
    expected.display_title = "camel"
    expected.spec.memory_bytes = 4096
    expected.spec.arm.reach_cm = 9
    expected.spare_arms.extend(arms)
    expected.max_speed = 3.5
    assert updated == expected


def test_oneof_member_path_switches_the_power_source(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    assert robot.WhichOneof("power") == "battery_wh"
    on_cable = fleet.robot_of(robots.update(robot.id, ("cable",), cable="P7"))
    assert on_cable.WhichOneof("power") == "cable" and on_cable.cable == "P7"
    assert not on_cable.HasField("battery_wh") and on_cable.battery_wh == 0
    assert robots.get(robot.id) == on_cable
    back = fleet.robot_of(robots.update(robot.id, ("batteryWh",), battery_wh=300))
    assert back.WhichOneof("power") == "battery_wh" and back.battery_wh == 300
    assert not back.HasField("cable")
    # Both members masked: whichever the request sets wins, in either path order.
    for paths in (("battery_wh", "cable"), ("cable", "battery_wh")):
        switched = fleet.robot_of(robots.update(robot.id, paths, cable="Q1"))
        assert switched.WhichOneof("power") == "cable", paths
        switched = fleet.robot_of(robots.update(robot.id, paths, battery_wh=42))
        assert switched.WhichOneof("power") == "battery_wh", paths
        assert switched.battery_wh == 42
    # The active member masked but unset in the request: the oneof is cleared.
    unpowered = fleet.robot_of(robots.update(robot.id, ("battery_wh",)))
    assert unpowered.WhichOneof("power") is None


def test_repeated_fields_are_replaced_wholesale(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    updated = fleet.robot_of(robots.update(robot.id, ("tags",), tags=["x"]))
    assert list(updated.tags) == ["x"]
    emptied = fleet.robot_of(robots.update(robot.id, ("tags",)))
    assert list(emptied.tags) == []
    first = [fleet.Arm(reach_cm=10, gripper="a"), fleet.Arm(reach_cm=20, gripper="b")]
    with_arms = fleet.robot_of(
        robots.update(robot.id, ("spare_arms",), spare_arms=first)
    )
    assert list(with_arms.spare_arms) == first
    second = [fleet.Arm(reach_cm=30, gripper="c")]
    replaced = fleet.robot_of(
        robots.update(robot.id, ("spare_arms",), spare_arms=second)
    )
    assert list(replaced.spare_arms) == second
    expected = _copy(fleet, robot)
    del expected.tags[:]
    expected.spare_arms.extend(second)
    assert replaced == expected == robots.get(robot.id)


def test_enum_and_optional_fields(fleet: ModuleType, robots: Any, robot: Any) -> None:
    patrolling = fleet.robot_of(
        robots.update(robot.id, ("mode",), mode=fleet.Robot.PATROL)
    )
    assert patrolling.mode == fleet.Robot.PATROL
    assert patrolling.status == fleet.Robot.READY  # output only: kept
    # max_speed masked and unset: cleared, presence and all.
    unlimited = fleet.robot_of(robots.update(robot.id, ("max_speed",)))
    assert not unlimited.HasField("max_speed")
    assert not robots.get(robot.id).HasField("max_speed")
    # Set to zero: present.
    stopped = fleet.robot_of(robots.update(robot.id, ("maxSpeed",), max_speed=0.0))
    assert stopped.HasField("max_speed") and stopped.max_speed == 0.0
    assert robots.get(robot.id).HasField("max_speed")


@pytest.mark.parametrize("paths", [None, ()], ids=["no-mask", "empty-mask"])
def test_empty_mask_writes_every_updatable_field(
    fleet: ModuleType, robots: Any, robot: Any, paths: tuple[str, ...] | None
) -> None:
    updated = fleet.robot_of(
        robots.update(robot.id, paths, display_title="full", cable="Z9")
    )
    expected = fleet.Robot(
        id=robot.id,
        hangar_id=robot.hangar_id,  # not updatable: kept
        display_title="full",
        cable="Z9",
        status=robot.status,
        created_at=robot.created_at,
    )
    # spec, tags, spare_arms, mode and max_speed were unset in the request: reset.
    assert updated == expected
    assert not updated.HasField("max_speed") and not updated.HasField("spec")
    assert robots.get(robot.id) == updated
    # The other oneof member, also under an empty mask.
    battery = fleet.robot_of(robots.update(robot.id, paths, battery_wh=7))
    assert battery.WhichOneof("power") == "battery_wh" and battery.battery_wh == 7


@pytest.mark.parametrize(
    "path",
    [
        "robot_id",
        "hangar_id",
        "spec.nope",
        "display_title.x",
        "id",
        "status",
        "created_at",
        "update_mask",
        "spec.arm.reach_cm.x",
        "tags.x",
        "spare_arms.reach_cm",
        "displaytitle",
        "",
        "spec.",
    ],
)
def test_bad_paths_are_rejected_naming_the_path(
    fleet: ModuleType, robots: Any, robot: Any, path: str
) -> None:
    error = fleet.fails(
        lambda: robots.update(robot.id, (path,), display_title="other"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    found = violations(error)
    assert set(found) == {"update_mask"}
    assert repr(path) in found["update_mask"]
    assert f"allowed paths: {ALLOWED}" in found["update_mask"]
    assert robots.get(robot.id) == robot


def test_bad_path_reasons(fleet: ModuleType, robots: Any, robot: Any) -> None:
    for path, reason in (
        ("robot_id", "no such updatable field"),
        ("spec.nope", "spec has no updatable field 'nope'"),
        ("display_title.x", "display_title has no sub-fields"),
    ):
        error = fleet.fails(
            lambda: robots.update(robot.id, (path,)), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert reason in violations(error)["update_mask"], path


def test_validation_is_mask_aware(fleet: ModuleType, robots: Any, robot: Any) -> None:
    # An invalid cable or duplicate tags that are not written are not an error...
    updated = fleet.robot_of(
        robots.update(
            robot.id,
            ("display_title",),
            display_title="ok",
            cable="not a socket",
            tags=["d", "d"],
            max_speed=99.0,
        )
    )
    assert updated.display_title == "ok"
    assert updated.WhichOneof("power") == "battery_wh" and updated.battery_wh == 800
    assert list(updated.tags) == ["a", "b"] and updated.max_speed == 10.0
    # ...but they are once the mask writes them.
    error = fleet.fails(
        lambda: robots.update(robot.id, ("cable",), cable="not a socket"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"cable": CABLE}
    error = fleet.fails(
        lambda: robots.update(robot.id, ("tags",), tags=["d", "d"]),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"tags": TAGS_UNIQUE}
    error = fleet.fails(
        lambda: robots.update(robot.id, ("maxSpeed",), max_speed=99.0),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"max_speed": SPEED}
    error = fleet.fails(
        lambda: robots.update(robot.id, ("battery_wh",), battery_wh=0),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"battery_wh": BATTERY}
    assert robots.get(robot.id) == updated


@pytest.mark.parametrize(
    "speed", [-1.0, 30.5, math.inf, math.nan], ids=["low", "high", "inf", "nan"]
)
def test_update_checks_the_max_speed_bound(
    fleet: ModuleType, robots: Any, robot: Any, speed: float
) -> None:
    error = fleet.fails(
        lambda: robots.update(robot.id, ("max_speed",), max_speed=speed),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"max_speed": SPEED}
    assert robots.get(robot.id) == robot


def test_update_lists_every_violation(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    error = fleet.fails(
        lambda: robots.update(
            robot.id,
            None,
            display_title="t" * 101,
            cable="x",
            tags=["a", "a", "b", "c", "d", "e"],
            max_speed=-1.0,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert sorted(fleet.all_violations(error)) == sorted(
        [
            ("display_title", TITLE),
            ("cable", CABLE),
            ("tags", TAGS_SIZE),
            ("tags", TAGS_UNIQUE),
            ("max_speed", SPEED),
        ]
    )
    assert robots.get(robot.id) == robot


def test_update_robot_id_is_always_validated_and_must_exist(
    fleet: ModuleType, robots: Any
) -> None:
    error = fleet.fails(
        lambda: robots.update("", ("display_title",), display_title="x"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"robot_id": REQUIRED}
    error = fleet.fails(
        lambda: robots.update("r" * 51, ("display_title",)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(violations(error)) == {"robot_id"}
    error = fleet.fails(
        lambda: robots.update("nosuchrobot000000000", ("display_title",)),
        grpc.StatusCode.NOT_FOUND,
    )
    (info,) = details(error, error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("robot", "nosuchrobot000000000")
    assert "nosuchrobot000000000" in error.details()


# --- List --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hangar(fleet: ModuleType, fleet_channel: grpc.Channel) -> tuple[str, list[Any]]:
    """A hangar of 12 robots r00..r11, created in that order; every third one patrols."""
    robots = fleet.Robots(fleet_channel)
    hangar_id = fleet.new_hangar()
    created = [
        robots.create(
            hangar_id,
            display_title=f"r{index:02}",
            mode=fleet.Robot.PATROL if index % 3 == 0 else fleet.Robot.IDLE,
        )
        for index in range(12)
    ]
    robots.create(fleet.new_hangar(), display_title="r00")  # another hangar
    return hangar_id, created


def test_list_is_scoped_by_hangar(fleet: ModuleType, robots: Any, hangar) -> None:  # type: ignore[no-untyped-def]
    hangar_id, created = hangar
    listed, token = robots.list_page(hangar_id)
    assert token == "" and len(listed) == 12  # default page size 20
    assert [r.id for r in listed] == sorted(
        r.id for r in created
    )  # "id asc" if omitted
    assert {r.hangar_id for r in listed} == {hangar_id}
    assert listed == sorted(created, key=lambda r: r.id)
    assert robots.list_page(fleet.new_hangar()) == ([], "")
    error = fleet.fails(lambda: robots.list_page(""), grpc.StatusCode.INVALID_ARGUMENT)
    assert violations(error) == {"hangar_id": REQUIRED}


def test_list_pages_with_page_size_and_tokens(fleet: ModuleType, robots: Any, hangar) -> None:  # type: ignore[no-untyped-def]
    hangar_id, created = hangar
    first, token = robots.list_page(hangar_id, page_size=5)
    assert len(first) == 5 and token
    second, token2 = robots.list_page(hangar_id, page_size=5, page_token=token)
    assert len(second) == 5 and token2
    third, token3 = robots.list_page(hangar_id, page_size=5, page_token=token2)
    assert len(third) == 2 and token3 == ""
    assert [r.id for r in first + second + third] == sorted(r.id for r in created)
    # Tokens belong to their query: another hangar is refused.
    error = fleet.fails(
        lambda: robots.list_page(fleet.new_hangar(), page_size=5, page_token=token),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(violations(error)) == {"page_token"}


def test_list_filters_on_camel_case_and_enum_fields(fleet: ModuleType, robots: Any, hangar) -> None:  # type: ignore[no-untyped-def]
    hangar_id, created = hangar

    def titles(found: list[Any]) -> list[str]:
        return sorted(r.display_title for r in found)

    assert titles(robots.list_page(hangar_id, filter='displayTitle = "r03"')[0]) == [
        "r03"
    ]
    assert titles(robots.list_page(hangar_id, filter='display_title = "r03"')[0]) == [
        "r03"
    ]
    assert titles(robots.list_page(hangar_id, filter='displayTitle:"r1"')[0]) == [
        "r10",
        "r11",
    ]
    assert titles(robots.list_page(hangar_id, filter="mode = PATROL")[0]) == [
        "r00",
        "r03",
        "r06",
        "r09",
    ]
    assert titles(
        robots.list_page(hangar_id, filter="mode = PATROL AND displayTitle:'9'")[0]
    ) == ["r09"]
    assert titles(
        robots.list_page(hangar_id, filter="mode=IDLE and displayTitle:'r1'")[0]
    ) == ["r10", "r11"]
    assert len(robots.list_page(hangar_id, filter="mode = IDLE")[0]) == 8
    # A filter pages too.
    paged = robots.list_all(hangar_id, filter="mode = PATROL", page_size=3)
    assert titles(paged) == ["r00", "r03", "r06", "r09"]
    for bad in ("mode = FLYING", 'tags = "a"', "spec = 1", "displayTitle = r03"):
        error = fleet.fails(
            lambda: robots.list_page(hangar_id, filter=bad),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert set(violations(error)) == {"filter"}, bad


def test_list_orders_by_created_at_desc(fleet: ModuleType, robots: Any, hangar) -> None:  # type: ignore[no-untyped-def]
    hangar_id, created = hangar
    newest_first = [r.display_title for r in reversed(created)]
    listed = robots.list_page(hangar_id, order_by="createdAt desc")[0]
    assert [r.display_title for r in listed] == newest_first
    paged = robots.list_all(hangar_id, order_by="createdAt desc", page_size=5)
    assert [r.display_title for r in paged] == newest_first
    by_title = robots.list_all(hangar_id, order_by="displayTitle desc", page_size=4)
    assert [r.display_title for r in by_title] == sorted(newest_first, reverse=True)
    error = fleet.fails(
        lambda: robots.list_page(hangar_id, order_by="spec desc"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(violations(error)) == {"order_by"}


def test_list_page_size_bound(fleet: ModuleType, robots: Any, hangar) -> None:  # type: ignore[no-untyped-def]
    hangar_id, _ = hangar
    assert len(robots.list_page(hangar_id, page_size=50)[0]) == 12
    error = fleet.fails(
        lambda: robots.list_page(hangar_id, page_size=51),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {
        "page_size": "Acceptable values are 0 to 50, inclusive."
    }


# --- Charge, an action rpc ---------------------------------------------------------------------


def test_charge_is_unimplemented_naming_the_method(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    error = fleet.fails(
        lambda: robots.stub.Charge(fleet.api.ChargeRobotRequest(robot_id=robot.id)),
        grpc.StatusCode.UNIMPLEMENTED,
    )
    # The message names the rpc in full and points to the README section that shows how to
    # serve the API with the service replaced by a subclass that implements it.
    assert error.details() == (
        "/acme.fleet.v1.RobotService/Charge is not implemented: this server implements "
        "the standard methods and the common actions, not this one. To serve it, replace "
        "RobotService with a subclass that defines Charge (see 'Serving the whole API "
        "with one service extended' in the README of protoc-gen-python-custom)"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n### Serving the whole API with one service extended\n" in readme
    assert robots.get(robot.id) == robot
    listed = robots.stub.ListOperations(
        fleet.api.ListRobotOperationsRequest(robot_id=robot.id)
    )
    assert [o.description for o in listed.operations] == ["Create robot"]


# --- Delete ------------------------------------------------------------------------------------


def test_delete_returns_empty_and_removes(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    request = fleet.api.DeleteRobotRequest(robot_id=robot.id)
    operation = robots.stub.Delete(request)
    assert operation.done and operation.description == "Delete robot"
    assert operation.response.Is(empty_pb2.Empty.DESCRIPTOR)
    assert operation.response.Unpack(empty_pb2.Empty())
    assert fleet.robot_id_of(operation) == robot.id
    fleet.fails(lambda: robots.get(robot.id), grpc.StatusCode.NOT_FOUND)
    assert robots.list_page(robot.hangar_id) == ([], "")
    fleet.fails(lambda: robots.stub.Delete(request), grpc.StatusCode.NOT_FOUND)
    fleet.fails(
        lambda: robots.update(robot.id, ("display_title",)), grpc.StatusCode.NOT_FOUND
    )
    error = fleet.fails(
        lambda: robots.stub.Delete(fleet.api.DeleteRobotRequest()),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"robot_id": REQUIRED}


# --- ListOperations and OperationService -------------------------------------------------------


def test_list_operations_newest_first_with_paging(
    fleet: ModuleType, robots: Any, robot: Any
) -> None:
    updates = [
        robots.update(robot.id, ("display_title",), display_title=f"v{index}")
        for index in range(4)
    ]
    request = fleet.api.ListRobotOperationsRequest(robot_id=robot.id, page_size=3)
    first = robots.stub.ListOperations(request)
    assert len(first.operations) == 3 and first.next_page_token
    request.page_token = first.next_page_token
    second = robots.stub.ListOperations(request)
    assert not second.next_page_token
    found = list(first.operations) + list(second.operations)
    assert [o.description for o in found] == ["Update robot"] * 4 + ["Create robot"]
    assert [o.id for o in found[:4]] == [o.id for o in reversed(updates)]
    assert found[:4] == list(reversed(updates))
    created = [(o.created_at.seconds, o.created_at.nanos) for o in found]
    assert created == sorted(created, reverse=True)
    assert all(fleet.robot_id_of(o) == robot.id for o in found)
    assert fleet.robot_of(found[-1]).id == robot.id
    everything = robots.stub.ListOperations(
        fleet.api.ListRobotOperationsRequest(robot_id=robot.id)
    )
    assert list(everything.operations) == found and not everything.next_page_token
    fleet.fails(
        lambda: robots.stub.ListOperations(
            fleet.api.ListRobotOperationsRequest(robot_id="c" * 20)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    error = fleet.fails(
        lambda: robots.stub.ListOperations(fleet.api.ListRobotOperationsRequest()),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violations(error) == {"robot_id": REQUIRED}


def test_operation_service_returns_robot_operations(
    fleet: ModuleType, robots: Any, operations: Any
) -> None:
    from yandex.cloud.operation import operation_service_pb2

    create = robots.stub.Create(
        fleet.api.CreateRobotRequest(
            hangar_id=fleet.new_hangar(), spec=fleet.Spec(cores=2), cable="B2"
        )
    )
    robot = fleet.robot_of(create)
    update = robots.update(robot.id, ("mode",), mode=fleet.Robot.PATROL)
    for operation in (create, update):
        fetched = operations.Get(
            operation_service_pb2.GetOperationRequest(operation_id=operation.id)
        )
        assert fetched == operation
    assert fleet.robot_of(update).mode == fleet.Robot.PATROL
    fleet.fails(
        lambda: operations.Get(
            operation_service_pb2.GetOperationRequest(operation_id="nope")
        ),
        grpc.StatusCode.NOT_FOUND,
    )


# --- Errors ------------------------------------------------------------------------------------


def test_every_rpc_error_carries_a_matching_rich_status(
    fleet: ModuleType, robots: Any, operations: Any
) -> None:
    """`fails` checks the google.rpc.Status of each error (code and message); here, one error
    of each rpc, each code."""
    from yandex.cloud.operation import operation_service_pb2

    api, stub = fleet.api, robots.stub
    missing = "m" * 20
    calls = [
        (lambda: stub.Get(api.GetRobotRequest()), grpc.StatusCode.INVALID_ARGUMENT),
        (
            lambda: stub.Get(api.GetRobotRequest(robot_id=missing)),
            grpc.StatusCode.NOT_FOUND,
        ),
        (lambda: stub.List(api.ListRobotsRequest()), grpc.StatusCode.INVALID_ARGUMENT),
        (
            lambda: stub.Create(api.CreateRobotRequest()),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: stub.Update(api.UpdateRobotRequest(robot_id=missing)),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: stub.Update(
                api.UpdateRobotRequest(robot_id=missing, update_mask=fleet.mask("x"))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: stub.Delete(api.DeleteRobotRequest(robot_id=missing)),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: stub.Charge(api.ChargeRobotRequest(robot_id=missing)),
            grpc.StatusCode.UNIMPLEMENTED,
        ),
        (
            lambda: stub.ListOperations(
                api.ListRobotOperationsRequest(robot_id=missing)
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: operations.Get(operation_service_pb2.GetOperationRequest()),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: operations.Cancel(
                operation_service_pb2.CancelOperationRequest(operation_id=missing)
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
    ]
    for call, code in calls:
        fleet.fails(call, code)


def test_server_logged_no_unexpected_error(fleet_server: ServerProcess) -> None:
    """Runs last in this module: nothing above made the server fail internally."""
    log = fleet_server.server_log()
    assert "unexpected error" not in log and "Traceback" not in log, log
