"""What real clients need from the generated server, over real gRPC: TLS (--tls-cert/--tls-key,
`make cert`), bearer tokens bound to folders (--token), idempotency keys, x-request-id, and
endpoint discovery (ApiEndpointService, --advertised-address)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import grpc
import pytest
from google.rpc import error_details_pb2

from images import Images, details, image_of, new_folder, rich_status, violations
from support import GENERATED, ROOT, ServerProcess, make_certificate
from yandex.cloud.baremetal.v1alpha import image_service_pb2 as api
from yandex.cloud.endpoint import (
    api_endpoint_service_pb2,
    api_endpoint_service_pb2_grpc,
)
from yandex.cloud.operation import (
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)

ALICE = "alice-secret-token"  # every folder
CAROL = "carol-secret-token"  # every folder
BOB = "bob-secret-token"  # FOLDER_A and FOLDER_B only
FOLDER_A, FOLDER_B, FOLDER_C = "folder-a", "folder-b", "folder-c"
ID = re.compile(r"[a-z][a-z0-9]{19}")


def subject(token: str) -> str:
    """The derivation the README documents, written out independently of the runtime."""
    digest = hashlib.sha256(token.encode()).digest()
    return "a" + base64.b32encode(digest).decode().lower()[:19]


def fails(call: Callable[[], object], code: grpc.StatusCode) -> grpc.RpcError:
    """The error of `call`, which must fail with `code` and a matching google.rpc.Status."""
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() is code, error
        status = rich_status(error)
        assert (status.code, status.message) == (code.value[0], error.details())
        return error
    raise AssertionError(f"expected {code.name}, but the call succeeded")


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


class _AddMetadata(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        metadata = [*(details.metadata or ()), *self._pairs]
        return continuation(
            _CallDetails(
                details.method,
                details.timeout,
                metadata,
                details.credentials,
                details.wait_for_ready,
                details.compression,
            ),
            request,
        )


def with_metadata(channel: grpc.Channel, *pairs: tuple[str, str]) -> grpc.Channel:
    return grpc.intercept_channel(channel, _AddMetadata(pairs))


def as_caller(channel: grpc.Channel, token: str) -> grpc.Channel:
    return with_metadata(channel, ("authorization", f"Bearer {token}"))


def operations_of(channel: grpc.Channel) -> Any:
    return operation_service_pb2_grpc.OperationServiceStub(channel)


def endpoints_of(channel: grpc.Channel) -> Any:
    return api_endpoint_service_pb2_grpc.ApiEndpointServiceStub(channel)


def create_request(folder: str, name: str = "disk") -> api.CreateImageRequest:
    return api.CreateImageRequest(folder_id=folder, name=name, uri="https://e.com/i")


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[ServerProcess]:
    cert, key = certificate
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--tls-cert", str(cert), "--tls-key", str(key)
    ).start()
    yield server
    server.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_client_trusting_the_certificate_works(
    tls_server: ServerProcess, certificate: tuple[Path, Path], host: str
) -> None:
    credentials = grpc.ssl_channel_credentials(certificate[0].read_bytes())
    with grpc.secure_channel(f"{host}:{tls_server.port}", credentials) as channel:
        images = Images(channel)
        image = images.create(new_folder(), "over-tls")
        assert images.get(image.id) == image


def test_plaintext_client_cannot_talk_to_a_tls_server(
    tls_server: ServerProcess,
) -> None:
    with grpc.insecure_channel(tls_server.address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            Images(channel).stub.Get(api.GetImageRequest(image_id="x"), timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


def test_tls_client_not_trusting_the_certificate_fails(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    other, _ = make_certificate(tmp_path)
    credentials = grpc.ssl_channel_credentials(other.read_bytes())
    with grpc.secure_channel(tls_server.address, credentials) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            Images(channel).stub.Get(api.GetImageRequest(image_id="x"), timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    "flags",
    [("--tls-cert", "cert.pem"), ("--tls-key", "key.pem")],
    ids=["cert-only", "key-only"],
)
def test_tls_flags_go_together(flags: tuple[str, ...]) -> None:
    server = ServerProcess(GENERATED, "--db", ":memory:", *flags)
    with pytest.raises(RuntimeError):
        server.start()
    assert server.process is not None and server.process.wait(timeout=30) == 2
    assert "--tls-cert and --tls-key go together" in server.server_log()


@pytest.mark.parametrize("problem", ["absent", "not-pem", "foreign-key"])
def test_unusable_certificates_stop_the_server(
    certificate: tuple[Path, Path], tmp_path: Path, problem: str
) -> None:
    cert, key = certificate
    expected = {
        "absent": "absent.pem",
        "not-pem": "holds no PEM certificate",
        "foreign-key": "do the certificate and the key belong together?",
    }[problem]
    if problem == "absent":
        cert = tmp_path / "absent.pem"
    elif problem == "not-pem":
        cert = tmp_path / "junk.pem"
        cert.write_text("junk")
    else:
        _, key = make_certificate(tmp_path)
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    with pytest.raises(RuntimeError):
        server.start()
    assert server.process is not None and server.process.wait(timeout=30) == 1
    assert expected in server.server_log()


def test_make_cert_makes_a_certificate_the_server_and_clients_accept(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "tls"
    subprocess.run(
        ["make", "-s", "cert", f"TLS_DIR={directory}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    cert, key = directory / "cert.pem", directory / "key.pem"
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--tls-cert", str(cert), "--tls-key", str(key)
    ).start()
    try:
        credentials = grpc.ssl_channel_credentials(cert.read_bytes())
        for host in ("localhost", "127.0.0.1"):
            with grpc.secure_channel(f"{host}:{server.port}", credentials) as channel:
                Images(channel).create(new_folder(), "made")
    finally:
        server.stop()


# --- authentication and authorization ----------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server() -> Iterator[ServerProcess]:
    server = ServerProcess(
        GENERATED,
        "--db",
        ":memory:",
        "--token",
        ALICE,
        "--token",
        f"{BOB}={FOLDER_A},{FOLDER_B}",
        "--token",
        CAROL,
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain(auth_server: ServerProcess) -> Iterator[grpc.Channel]:
    """A channel to the server with tokens, that sends none."""
    with grpc.insecure_channel(auth_server.address) as channel:
        yield channel


@pytest.fixture(scope="module")
def alice(plain: grpc.Channel) -> grpc.Channel:
    return as_caller(plain, ALICE)


@pytest.fixture(scope="module")
def bob(plain: grpc.Channel) -> grpc.Channel:
    return as_caller(plain, BOB)


@pytest.fixture(scope="module")
def carol(plain: grpc.Channel) -> grpc.Channel:
    return as_caller(plain, CAROL)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {BOB}", "Bearer", f"{BOB}"],
    ids=["missing", "wrong", "other-scheme", "no-token", "no-scheme"],
)
def test_calls_without_a_valid_token_are_unauthenticated(
    plain: grpc.Channel, authorization: str | None
) -> None:
    channel = (
        plain
        if authorization is None
        else with_metadata(plain, ("authorization", authorization))
    )
    images = Images(channel)
    calls: list[Callable[[], object]] = [
        lambda: images.stub.Get(api.GetImageRequest(image_id="x" * 20)),
        lambda: images.stub.List(api.ListImagesRequest(folder_id=FOLDER_A)),
        lambda: images.stub.Create(create_request(FOLDER_A)),
        # Authentication comes first: even an invalid request is UNAUTHENTICATED.
        lambda: images.stub.Create(api.CreateImageRequest()),
        lambda: operations_of(channel).Get(
            operation_service_pb2.GetOperationRequest(operation_id="x")
        ),
    ]
    for call in calls:
        error = fails(call, grpc.StatusCode.UNAUTHENTICATED)
        assert ALICE not in error.details() and BOB not in error.details()


def test_a_configured_token_works_and_its_subject_creates(alice: grpc.Channel) -> None:
    images = Images(alice)
    operation = images.stub.Create(create_request(new_folder()))
    assert operation.created_by == subject(ALICE) and ID.fullmatch(subject(ALICE))
    image = image_of(operation)
    assert images.get(image.id) == image
    update = images.update(image.id, ("description",), description="new")
    assert update.created_by == subject(ALICE)
    operations = images.stub.ListOperations(
        api.ListImageOperationsRequest(image_id=image.id)
    ).operations
    assert [item.created_by for item in operations] == [subject(ALICE)] * 2


def test_the_scheme_is_case_insensitive(plain: grpc.Channel) -> None:
    channel = with_metadata(plain, ("authorization", f"bearer {CAROL}"))
    operation = Images(channel).stub.Create(create_request(new_folder()))
    assert operation.created_by == subject(CAROL) != subject(ALICE)


def test_endpoint_discovery_needs_no_token(
    plain: grpc.Channel, auth_server: ServerProcess
) -> None:
    listed = endpoints_of(plain).List(
        api_endpoint_service_pb2.ListApiEndpointsRequest()
    )
    assert {item.id for item in listed.endpoints} >= {"iam", "operation", "baremetal"}
    got = endpoints_of(plain).Get(
        api_endpoint_service_pb2.GetApiEndpointRequest(api_endpoint_id="operation")
    )
    assert got.address == f"localhost:{auth_server.port}"


@pytest.fixture(scope="module")
def foreign(alice: grpc.Channel) -> tuple[Any, operation_pb2.Operation]:
    """An image in FOLDER_C, which BOB may not touch, and the operation that created it."""
    operation = Images(alice).stub.Create(create_request(FOLDER_C, "foreign"))
    return image_of(operation), operation


def test_folder_bound_token_works_within_its_folders(bob: grpc.Channel) -> None:
    images = Images(bob)
    for folder in (FOLDER_A, FOLDER_B):
        operation = images.stub.Create(create_request(folder, f"own-{folder}"))
        assert operation.created_by == subject(BOB)
        image = image_of(operation)
        assert images.get(image.id) == image
        listed = images.stub.List(api.ListImagesRequest(folder_id=folder)).images
        assert image.id in [item.id for item in listed]
        updated = images.update(image.id, ("description",), description="mine")
        assert image_of(updated).description == "mine"
        history = images.stub.ListOperations(
            api.ListImageOperationsRequest(image_id=image.id)
        ).operations
        assert len(history) == 2
        stub = operations_of(bob)
        got = stub.Get(
            operation_service_pb2.GetOperationRequest(operation_id=operation.id)
        )
        assert got == operation
        stub.Cancel(
            operation_service_pb2.CancelOperationRequest(operation_id=operation.id)
        )
        deleted = images.stub.Delete(api.DeleteImageRequest(image_id=image.id))
        assert deleted.done and not deleted.HasField("error")


def test_folder_bound_token_is_denied_other_folders(bob: grpc.Channel) -> None:
    images = Images(bob)
    denied = grpc.StatusCode.PERMISSION_DENIED
    error = fails(lambda: images.stub.Create(create_request(FOLDER_C)), denied)
    (info,) = details(error, error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("folder", FOLDER_C)
    fails(lambda: images.stub.List(api.ListImagesRequest(folder_id=FOLDER_C)), denied)


def test_folder_bound_token_is_denied_resources_in_other_folders(
    bob: grpc.Channel, foreign: tuple[Any, operation_pb2.Operation]
) -> None:
    image, operation = foreign
    images, stub = Images(bob), operations_of(bob)
    denied = grpc.StatusCode.PERMISSION_DENIED
    calls: list[Callable[[], object]] = [
        lambda: images.get(image.id),
        lambda: images.update(image.id, ("description",), description="taken"),
        lambda: images.stub.Delete(api.DeleteImageRequest(image_id=image.id)),
        lambda: images.stub.ListOperations(
            api.ListImageOperationsRequest(image_id=image.id)
        ),
        lambda: stub.Get(
            operation_service_pb2.GetOperationRequest(operation_id=operation.id)
        ),
        lambda: stub.Cancel(
            operation_service_pb2.CancelOperationRequest(operation_id=operation.id)
        ),
    ]
    for call in calls:
        error = fails(call, denied)
        assert FOLDER_C not in error.details()  # names the target, not where it lives
    (info,) = details(fails(calls[0], denied), error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("image", image.id)


def test_validation_comes_before_authorization(
    bob: grpc.Channel, foreign: tuple[Any, operation_pb2.Operation]
) -> None:
    images = Images(bob)
    invalid = api.CreateImageRequest(folder_id=FOLDER_C, name="Not Valid", uri="u")
    assert "name" in violations(
        fails(lambda: images.stub.Create(invalid), grpc.StatusCode.INVALID_ARGUMENT)
    )
    image, _ = foreign
    bad_mask = api.UpdateImageRequest(image_id=image.id)
    bad_mask.update_mask.paths.append("id")
    fails(lambda: images.stub.Update(bad_mask), grpc.StatusCode.INVALID_ARGUMENT)


def test_unknown_ids_are_not_found_for_a_folder_bound_token(bob: grpc.Channel) -> None:
    images, stub = Images(bob), operations_of(bob)
    unknown = "a" * 20
    not_found = grpc.StatusCode.NOT_FOUND
    fails(lambda: images.get(unknown), not_found)
    fails(
        lambda: images.stub.Delete(api.DeleteImageRequest(image_id=unknown)), not_found
    )
    fails(
        lambda: images.stub.ListOperations(
            api.ListImageOperationsRequest(image_id=unknown)
        ),
        not_found,
    )
    fails(
        lambda: stub.Get(
            operation_service_pb2.GetOperationRequest(operation_id=unknown)
        ),
        not_found,
    )


def test_operations_stay_protected_after_the_resource_is_deleted(
    alice: grpc.Channel, bob: grpc.Channel
) -> None:
    image = Images(alice).create(FOLDER_C, "short-lived")
    deleted = Images(alice).stub.Delete(api.DeleteImageRequest(image_id=image.id))
    history = api.ListImageOperationsRequest(image_id=image.id)
    assert len(Images(alice).stub.ListOperations(history).operations) == 2
    denied = grpc.StatusCode.PERMISSION_DENIED
    fails(lambda: Images(bob).stub.ListOperations(history), denied)
    fails(
        lambda: operations_of(bob).Get(
            operation_service_pb2.GetOperationRequest(operation_id=deleted.id)
        ),
        denied,
    )


@pytest.fixture(scope="module")
def hangar_server(fleet_generated: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        fleet_generated,
        "--db",
        ":memory:",
        "--token",
        f"{BOB}=hangar-1",
        "--token",
        ALICE,
    ).start()
    yield server
    server.stop()


def test_folders_are_whatever_parent_the_api_has(hangar_server: ServerProcess) -> None:
    """The fleet API's parent is `hangar_id`: a token bound to hangars works the same way."""
    from acme.fleet.v1 import robot_pb2, robot_service_pb2, robot_service_pb2_grpc

    def create(channel: grpc.Channel, hangar: str) -> operation_pb2.Operation:
        stub = robot_service_pb2_grpc.RobotServiceStub(channel)
        request = robot_service_pb2.CreateRobotRequest(
            hangar_id=hangar, battery_wh=10, spec=robot_pb2.Robot.Spec(cores=1)
        )
        result: operation_pb2.Operation = stub.Create(request)
        return result

    with grpc.insecure_channel(hangar_server.address) as channel:
        alice, bob = as_caller(channel, ALICE), as_caller(channel, BOB)
        assert create(bob, "hangar-1").created_by == subject(BOB)
        error = fails(
            lambda: create(bob, "hangar-2"), grpc.StatusCode.PERMISSION_DENIED
        )
        (info,) = details(error, error_details_pb2.ResourceInfo)
        assert (info.resource_type, info.resource_name) == ("hangar", "hangar-2")
        theirs = create(alice, "hangar-2")
        fails(
            lambda: operations_of(bob).Get(
                operation_service_pb2.GetOperationRequest(operation_id=theirs.id)
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        listed = endpoints_of(channel).List(
            api_endpoint_service_pb2.ListApiEndpointsRequest()
        )
        assert [item.id for item in listed.endpoints] == [
            "acme-fleet",
            "baremetal",
            "endpoint",
            "iam",
            "operation",
        ]


@pytest.mark.parametrize(
    "token",
    ["", "has space", "a=", "a=b,,c", "a=b, c"],
    ids=["empty", "space", "no-folders", "empty-folder", "spaced-folder"],
)
def test_malformed_token_flags_stop_the_server(token: str) -> None:
    server = ServerProcess(GENERATED, "--db", ":memory:", "--token", token)
    with pytest.raises(RuntimeError):
        server.start()
    assert server.process is not None and server.process.wait(timeout=30) == 2
    assert "--token" in server.server_log()


# --- idempotency -------------------------------------------------------------------------------


def keyed(channel: grpc.Channel, key: str) -> Images:
    return Images(with_metadata(channel, ("idempotency-key", key)))


def test_a_repeated_create_with_the_same_key_creates_once(
    channel: grpc.Channel,
) -> None:
    folder, key = new_folder(), str(uuid.uuid4())
    first = keyed(channel, key).stub.Create(create_request(folder))
    again = keyed(channel, key).stub.Create(create_request(folder))
    assert again == first
    images = Images(channel).stub.List(api.ListImagesRequest(folder_id=folder)).images
    assert [item.id for item in images] == [image_of(first).id]
    history = Images(channel).stub.ListOperations(
        api.ListImageOperationsRequest(image_id=image_of(first).id)
    )
    assert [item.id for item in history.operations] == [first.id]


def test_a_repeated_update_and_delete_change_nothing_twice(
    channel: grpc.Channel,
) -> None:
    images = Images(channel)
    image = images.create(new_folder(), "keyed")
    update = api.UpdateImageRequest(image_id=image.id, description="once")
    update.update_mask.paths.append("description")
    key = str(uuid.uuid4())
    first = keyed(channel, key).stub.Update(update)
    images.update(image.id, ("description",), description="changed since")
    again = keyed(channel, key).stub.Update(update)
    assert again == first  # the recorded operation, not a second update
    assert images.get(image.id).description == "changed since"
    delete = api.DeleteImageRequest(image_id=image.id)
    removed = keyed(channel, key).stub.Delete(delete)  # keys are per rpc
    assert keyed(channel, key).stub.Delete(delete) == removed  # not NOT_FOUND
    history = images.stub.ListOperations(
        api.ListImageOperationsRequest(image_id=image.id)
    ).operations
    assert len(history) == 4  # create, update, update, delete


def test_the_same_key_with_another_request_is_invalid(channel: grpc.Channel) -> None:
    folder, key = new_folder(), str(uuid.uuid4())
    keyed(channel, key).stub.Create(create_request(folder, "first"))
    error = fails(
        lambda: keyed(channel, key).stub.Create(create_request(folder, "second")),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "different request" in violations(error)["idempotency-key"]
    listed = Images(channel).stub.List(api.ListImagesRequest(folder_id=folder))
    assert [item.name for item in listed.images] == ["first"]


def test_a_request_that_fails_records_nothing(channel: grpc.Channel) -> None:
    folder, key = new_folder(), str(uuid.uuid4())
    invalid = api.CreateImageRequest(folder_id=folder, name="Not Valid", uri="u")
    fails(
        lambda: keyed(channel, key).stub.Create(invalid),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    Images(channel).create(folder, "taken")
    fails(
        lambda: keyed(channel, key).stub.Create(create_request(folder, "taken")),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    created = keyed(channel, key).stub.Create(create_request(folder, "free"))
    assert image_of(created).name == "free"


def test_keys_are_per_subject(alice: grpc.Channel, carol: grpc.Channel) -> None:
    folder, key = new_folder(), str(uuid.uuid4())
    by_alice = keyed(alice, key).stub.Create(create_request(folder, "by-alice"))
    by_carol = keyed(carol, key).stub.Create(create_request(folder, "by-carol"))
    assert by_alice.id != by_carol.id
    assert (by_alice.created_by, by_carol.created_by) == (
        subject(ALICE),
        subject(CAROL),
    )
    # Each subject's key still means its own request.
    assert keyed(carol, key).stub.Create(create_request(folder, "by-carol")) == by_carol
    listed = Images(alice).stub.List(api.ListImagesRequest(folder_id=folder)).images
    assert sorted(item.name for item in listed) == ["by-alice", "by-carol"]


def test_a_replay_is_authorized_again(tmp_path: Path) -> None:
    """A key replays only what the token may still touch: here BOB loses FOLDER_C."""
    db, key = str(tmp_path / "api.sqlite3"), str(uuid.uuid4())
    request = create_request(FOLDER_C)
    before = ServerProcess(GENERATED, "--db", db, "--token", f"{BOB}={FOLDER_C}")
    with grpc.insecure_channel(before.start().address) as channel:
        created = keyed(as_caller(channel, BOB), key).stub.Create(request)
    assert before.stop() == 0
    after = ServerProcess(
        GENERATED, "--db", db, "--token", f"{BOB}={FOLDER_A},{FOLDER_C}"
    )
    with grpc.insecure_channel(after.start().address) as channel:
        assert keyed(as_caller(channel, BOB), key).stub.Create(request) == created
    assert after.stop() == 0
    narrowed = ServerProcess(GENERATED, "--db", db, "--token", f"{BOB}={FOLDER_A}")
    with grpc.insecure_channel(narrowed.start().address) as channel:
        fails(
            lambda: keyed(as_caller(channel, BOB), key).stub.Create(request),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    assert narrowed.stop() == 0


def test_a_replay_returns_the_operation_as_it_is_now() -> None:
    server = ServerProcess(GENERATED, "--db", ":memory:", "--operation-delay", "0.3")
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            key = str(uuid.uuid4())
            request = create_request(new_folder())
            first = keyed(channel, key).stub.Create(request)
            assert not first.done
            deadline = time.monotonic() + 10
            while not (again := keyed(channel, key).stub.Create(request)).done:
                assert again.id == first.id and time.monotonic() < deadline
                time.sleep(0.05)
            assert again.id == first.id and image_of(again).id
    finally:
        server.stop()


# --- request ids -------------------------------------------------------------------------------


def metadata_of(pairs: Any) -> dict[str, str]:
    return {item.key: item.value for item in pairs or ()}


def test_every_answer_carries_a_request_id(channel: grpc.Channel) -> None:
    stub = Images(channel).stub
    image = Images(channel).create(new_folder(), "traced")
    _, call = stub.Get.with_call(api.GetImageRequest(image_id=image.id))
    first = metadata_of(call.trailing_metadata())["x-request-id"]
    _, call = stub.Get.with_call(api.GetImageRequest(image_id=image.id))
    second = metadata_of(call.trailing_metadata())["x-request-id"]
    assert uuid.UUID(first) != uuid.UUID(second)
    assert "x-client-request-id" not in metadata_of(call.trailing_metadata())
    error = fails(
        lambda: stub.Get(api.GetImageRequest(image_id="a" * 20)),
        grpc.StatusCode.NOT_FOUND,
    )
    uuid.UUID(metadata_of(error.trailing_metadata())["x-request-id"])  # type: ignore[attr-defined]


def test_the_client_request_id_is_echoed(
    channel: grpc.Channel, plain: grpc.Channel
) -> None:
    client_id = str(uuid.uuid4())
    traced = with_metadata(channel, ("x-client-request-id", client_id))
    _, call = Images(traced).stub.Create.with_call(create_request(new_folder()))
    sent = metadata_of(call.trailing_metadata())
    assert sent["x-client-request-id"] == client_id and uuid.UUID(sent["x-request-id"])
    unauthenticated = with_metadata(plain, ("x-client-request-id", client_id))
    error = fails(
        lambda: Images(unauthenticated).get("a" * 20), grpc.StatusCode.UNAUTHENTICATED
    )
    sent = metadata_of(error.trailing_metadata())  # type: ignore[attr-defined]
    assert sent["x-client-request-id"] == client_id and uuid.UUID(sent["x-request-id"])


# --- endpoint discovery ------------------------------------------------------------------------


BUILT_IN = ["baremetal", "endpoint", "iam", "operation"]


def test_endpoints_list_every_api_at_the_server(
    channel: grpc.Channel, image_server: ServerProcess
) -> None:
    listed = endpoints_of(channel).List(
        api_endpoint_service_pb2.ListApiEndpointsRequest()
    )
    assert [item.id for item in listed.endpoints] == BUILT_IN
    assert {item.address for item in listed.endpoints} == {
        f"localhost:{image_server.port}"
    }
    assert listed.next_page_token == ""


def test_endpoints_get(channel: grpc.Channel, image_server: ServerProcess) -> None:
    stub = endpoints_of(channel)
    got = stub.Get(
        api_endpoint_service_pb2.GetApiEndpointRequest(api_endpoint_id="iam")
    )
    assert (got.id, got.address) == ("iam", f"localhost:{image_server.port}")
    for unknown in ("compute", ""):
        request = api_endpoint_service_pb2.GetApiEndpointRequest(
            api_endpoint_id=unknown
        )
        fails(lambda: stub.Get(request), grpc.StatusCode.NOT_FOUND)


def test_endpoints_paging(channel: grpc.Channel) -> None:
    stub, seen, token = endpoints_of(channel), [], ""
    while True:
        page = stub.List(
            api_endpoint_service_pb2.ListApiEndpointsRequest(
                page_size=3, page_token=token
            )
        )
        assert len(page.endpoints) <= 3
        seen += [item.id for item in page.endpoints]
        token = page.next_page_token
        if not token:
            break
    assert seen == BUILT_IN
    for bad in ("x", "0", "-1", "4", "99", "1.0", " 1", "1" * 30):
        request = api_endpoint_service_pb2.ListApiEndpointsRequest(page_token=bad)
        error = fails(lambda: stub.List(request), grpc.StatusCode.INVALID_ARGUMENT)
        assert "page_token" in violations(error)
    request = api_endpoint_service_pb2.ListApiEndpointsRequest(page_size=-1)
    assert "page_size" in violations(
        fails(lambda: stub.List(request), grpc.StatusCode.INVALID_ARGUMENT)
    )


def test_endpoints_list_answers_a_page_size_of_0_whole() -> None:
    """The official SDK lists once, with no page size, and never follows next_page_token: a
    page size of 0 answers every id; a page size pages as asked."""
    from yc_runtime import server

    ids = [f"api-{number:03d}" for number in range(150)]
    running = server.start((), endpoint_ids=ids)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as opened:
            stub = endpoints_of(opened)
            whole = stub.List(api_endpoint_service_pb2.ListApiEndpointsRequest())
            first = stub.List(
                api_endpoint_service_pb2.ListApiEndpointsRequest(page_size=100)
            )
            rest = stub.List(
                api_endpoint_service_pb2.ListApiEndpointsRequest(
                    page_token=first.next_page_token
                )
            )
    finally:
        running.stop(grace=None)
    expected = sorted(ids + ["endpoint", "iam", "operation"])
    assert [item.id for item in whole.endpoints] == expected
    assert whole.next_page_token == ""
    assert [item.id for item in first.endpoints] == expected[:100]
    assert first.next_page_token == "100"
    assert [item.id for item in rest.endpoints] == expected[100:]
    assert rest.next_page_token == ""


def test_the_advertised_address_flag() -> None:
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--advertised-address", "api.example.net:443"
    ).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            listed = endpoints_of(channel).List(
                api_endpoint_service_pb2.ListApiEndpointsRequest()
            )
        assert {item.address for item in listed.endpoints} == {"api.example.net:443"}
    finally:
        server.stop()
