"""Fuzzing the generated image server over real gRPC.

One server (`api_server.py --db :memory:`) for the module; every rpc of ImageService and
OperationService gets random requests: every field of the request drawn at random, with ids,
folders, labels, update masks, page tokens, filters and orderings that are valid or nearly so,
huge strings and unicode. Properties: no answer is INTERNAL, UNKNOWN, DEADLINE_EXCEEDED or
UNAVAILABLE; what Create and Update store passes the request validators and is what Get returns;
and the server logs no traceback.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from hypothesis import event, given, note
from hypothesis import strategies as st
from yandex.cloud.baremetal.v1alpha import (
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
    image_service_server,
)
from yandex.cloud.operation import (
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)
from yc_runtime.validation import Validator

from fuzzing import fuzz
from messages import CHARACTERS, HUGE, STRINGS, message_strategy
from support import GENERATED, ServerProcess

FORBIDDEN = {
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNAVAILABLE,
}
VALIDATOR = Validator(image_service_server.RULES)
api = image_service_pb2


class Known:
    """Ids, folders, operations and page tokens this module has seen: requests draw from them
    so that they reach existing resources, not only NOT_FOUND."""

    def __init__(self) -> None:
        self.images: list[str] = []
        self.folders: list[str] = ["folder-a", "folder-b"]
        self.operations: list[str] = []
        self.tokens: list[str] = []
        self.names: list[str] = ["taken-name"]


KNOWN = Known()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess(GENERATED, "--db", ":memory:").start()
    yield process
    assert process.stop() == 0, process.server_log()


@pytest.fixture(scope="module")
def stubs(server: ServerProcess) -> Iterator[dict[str, Any]]:
    with grpc.insecure_channel(server.address) as channel:
        images = image_service_pb2_grpc.ImageServiceStub(channel)
        for folder in KNOWN.folders:
            for name in ("taken-name", "other-name", ""):
                operation = images.Create(
                    api.CreateImageRequest(
                        folder_id=folder, name=name, uri="u", labels={"env": "x"}
                    ),
                    timeout=10,
                )
                remember(operation)
        yield {
            "image": images,
            "operation": operation_service_pb2_grpc.OperationServiceStub(channel),
        }


def remember(operation: operation_pb2.Operation) -> None:
    KNOWN.operations.append(operation.id)
    if operation.HasField("response"):
        image = image_pb2.Image()
        if operation.response.Unpack(image):
            KNOWN.images.append(image.id)


# ---- strategies -------------------------------------------------------------------------

ID = st.from_regex(r"[a-z][a-z0-9]{19}", fullmatch=True)


def known(
    values: Callable[[], list[str]], other: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """Mostly one of the values seen so far (read at draw time), else `other`."""
    return st.one_of(
        st.integers(0, 10**6).map(
            lambda index: values()[index % len(values())] if values() else ""
        ),
        st.integers(0, 10**6).map(
            lambda index: values()[index % len(values())] if values() else ""
        ),
        other,
    )


IDS = known(lambda: KNOWN.images, st.one_of(ID, STRINGS))
FOLDERS = known(
    lambda: KNOWN.folders,
    st.one_of(st.from_regex(r"[a-z][a-z0-9.-]{0,49}", fullmatch=True), STRINGS),
)
NAMES = st.one_of(
    known(
        lambda: KNOWN.names,
        st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True),
    ),
    STRINGS,
)
LABEL_KEYS = st.one_of(
    st.from_regex(r"[a-z][-_0-9a-z]{0,62}", fullmatch=True),
    st.sampled_from(
        ["env", "team", "a.b", "a b", "`", "", "Env", "x" * 64, "ключ", "1a"]
    ),
    st.text(CHARACTERS, max_size=10),
)
LABEL_VALUES = st.one_of(
    st.from_regex(r"[-_0-9a-z]{0,63}", fullmatch=True),
    st.text(CHARACTERS, max_size=10),
    HUGE,
)
LABELS = st.one_of(
    st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=6),
    st.dictionaries(
        st.from_regex(r"k[0-9]{1,3}", fullmatch=True),
        st.just("v"),
        min_size=60,
        max_size=70,
    ),
)
MASK_PATHS = st.one_of(
    st.sampled_from(
        ["name", "description", "labels", "labels.env", "labels.team", "labels.`a.b`",
         "labels.`a b`", "labels.", "labels.``", "labels.`x``y`", "labels.env.x", "Labels",
         "image_id", "imageId", "update_mask", "id", "folder_id", "folderId", "status",
         "created_at", "name.first", "", ".", "*", "description,name", "labels.ключ"]
    ),
    LABEL_KEYS.map(lambda key: f"labels.{key}"),
    STRINGS,
)  # fmt: skip
MASKS = st.lists(MASK_PATHS, max_size=5).map(
    lambda paths: field_mask_pb2.FieldMask(paths=paths)
)
TOKENS = st.one_of(
    known(lambda: KNOWN.tokens, STRINGS),
    known(lambda: KNOWN.tokens, st.just("")).map(
        lambda token: token[:-1] + "A" if token else "x"
    ),
)
FILTERS = st.one_of(
    st.sampled_from(['name = "taken-name"', "name:'name'", 'folderId = "folder-a"', "status = READY",
                     'createdAt = "2024-01-01T00:00:00Z"', 'id = "x" AND name = "y"', "name =", "labels = 1",
                     'created_at = "10000-01-01T00:00:00Z"', "status = 99"]),
    STRINGS,
)  # fmt: skip
ORDERS = st.one_of(
    st.sampled_from(["name desc", "createdAt", "created_at desc, name", "status, id desc", "labels",
                     "name name", "id asc,", "checksum desc"]),
    STRINGS,
)  # fmt: skip
PAGE_SIZES = st.one_of(
    st.integers(-5, 120), st.sampled_from([0, 1, 100, 101, -(2**63), 2**63 - 1])
)

OVERRIDES = {
    "image_id": IDS,
    "folder_id": FOLDERS,
    "name": NAMES,
    "labels": LABELS,
    "update_mask": MASKS,
    "page_token": TOKENS,
    "page_size": PAGE_SIZES,
    "filter": FILTERS,
    "order_by": ORDERS,
    "operation_id": known(lambda: KNOWN.operations, st.one_of(ID, STRINGS)),
}


# Requests that are valid or nearly so, so that calls get past validation to the storage,
# masks, uniqueness and paging.
VALID_NAMES = st.one_of(
    known(lambda: KNOWN.names, st.just("")),
    st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True),
)
VALID_LABELS = st.dictionaries(
    st.from_regex(r"[a-z][-_0-9a-z]{0,10}", fullmatch=True),
    st.from_regex(r"[-_0-9a-z]{0,10}", fullmatch=True),
    max_size=4,
)
DESCRIPTIONS = st.one_of(
    st.text(CHARACTERS, max_size=40), st.just("d" * 1024), st.just("d" * 1025)
)
VALID_PATHS = st.lists(
    st.sampled_from(
        ["name", "description", "labels", "labels.env", "labels.team", "labels.`a.b`"]
    ),
    max_size=3,
).map(lambda paths: field_mask_pb2.FieldMask(paths=paths))
PLAUSIBLE = {
    api.CreateImageRequest: st.builds(
        api.CreateImageRequest, folder_id=FOLDERS, name=VALID_NAMES, description=DESCRIPTIONS,
        uri=st.sampled_from(["https://example.com/a.img", "u", "x" * 1024]), labels=VALID_LABELS,
    ),
    api.UpdateImageRequest: st.builds(
        api.UpdateImageRequest, image_id=IDS, update_mask=st.one_of(VALID_PATHS, VALID_PATHS, MASKS),
        name=VALID_NAMES, description=DESCRIPTIONS, labels=VALID_LABELS,
    ),
    api.ListImagesRequest: st.builds(
        api.ListImagesRequest, folder_id=FOLDERS, page_size=st.integers(0, 5),
        page_token=st.one_of(st.just(""), TOKENS), filter=st.one_of(st.just(""), FILTERS),
        order_by=st.one_of(st.just(""), ORDERS),
    ),
    api.ListImageOperationsRequest: st.builds(
        api.ListImageOperationsRequest, image_id=IDS, page_size=st.integers(0, 5),
        page_token=st.one_of(st.just(""), TOKENS),
    ),
}  # fmt: skip


def requests(message_type: type[Message]) -> st.SearchStrategy[Message]:
    """Half plausible requests, half requests with every field random."""
    random_requests = message_strategy(message_type.DESCRIPTOR, OVERRIDES, depth=2)
    if message_type not in PLAUSIBLE:
        return random_requests
    return st.one_of(PLAUSIBLE[message_type], random_requests)


# ---- the calls --------------------------------------------------------------------------

RPCS = {
    # rpc: (stub, method, request type)
    "ImageService.Get": ("image", "Get", api.GetImageRequest),
    "ImageService.List": ("image", "List", api.ListImagesRequest),
    "ImageService.Create": ("image", "Create", api.CreateImageRequest),
    "ImageService.Update": ("image", "Update", api.UpdateImageRequest),
    "ImageService.ListOperations": (
        "image",
        "ListOperations",
        api.ListImageOperationsRequest,
    ),
    "OperationService.Get": (
        "operation",
        "Get",
        operation_service_pb2.GetOperationRequest,
    ),
    "OperationService.Cancel": (
        "operation",
        "Cancel",
        operation_service_pb2.CancelOperationRequest,
    ),
    "ImageService.Delete": ("image", "Delete", api.DeleteImageRequest),
}


def call(
    stubs: dict[str, Any], rpc: str, request: Message
) -> tuple[grpc.StatusCode, Any]:
    stub, method, _ = RPCS[rpc]
    try:
        return grpc.StatusCode.OK, getattr(stubs[stub], method)(request, timeout=20)
    except grpc.RpcError as error:
        return error.code(), error.details()


def stored_image_problems(stubs: dict[str, Any], image: image_pb2.Image) -> list[str]:
    """The image as Get returns it: the same, and valid as a Create and an Update request."""
    code, current = call(
        stubs, "ImageService.Get", api.GetImageRequest(image_id=image.id)
    )
    if code is not grpc.StatusCode.OK:
        return [f"Get of the image just written: {code.name} {current}"]
    problems = (
        [] if current == image else [f"Get returned {current}, the operation {image}"]
    )
    fields = dict(
        name=image.name, description=image.description, labels=dict(image.labels)
    )
    create = api.CreateImageRequest(folder_id=image.folder_id, uri="u", **fields)
    update = api.UpdateImageRequest(image_id=image.id, **fields)
    for request in (create, update):
        violations = VALIDATOR.violations(request)
        if violations:
            problems.append(
                f"the stored image fails {type(request).__name__}: {violations}"
            )
    return problems


def remember_page(response: Any) -> None:
    if response.next_page_token:
        KNOWN.tokens.append(response.next_page_token)


@pytest.mark.parametrize(
    "rpc", list(RPCS)
)  # Delete last: it empties the pool of images
@fuzz(ci=100, long=1500)
@given(data=st.data())
def test_random_requests_never_break_the_server(
    stubs: dict[str, Any], rpc: str, data: st.DataObject
) -> None:
    """Any request to any rpc: a status other than INTERNAL, UNKNOWN, DEADLINE_EXCEEDED or
    UNAVAILABLE. A Create or Update that succeeds stores an image that Get returns unchanged
    and that passes the validators of CreateImageRequest and UpdateImageRequest."""
    request = data.draw(requests(RPCS[rpc][2]), label="request")
    code, answer = call(stubs, rpc, request)
    event(f"{rpc}: {code.name}")
    assert code not in FORBIDDEN, f"{rpc} answered {code.name}: {answer}"
    if code is not grpc.StatusCode.OK:
        return
    if isinstance(answer, operation_pb2.Operation):
        remember(answer)
        if rpc == "ImageService.Delete" and request.image_id in KNOWN.images:
            KNOWN.images.remove(request.image_id)
        if answer.HasField("error"):
            assert answer.error.code not in {
                c.value[0] for c in FORBIDDEN
            }, answer.error
            return
        image = image_pb2.Image()
        # OperationService answers with operations of the past: their image may be gone.
        if rpc in (
            "ImageService.Create",
            "ImageService.Update",
        ) and answer.response.Unpack(image):
            note(f"stored: {image}")
            if isinstance(request, api.CreateImageRequest) and image.name:
                KNOWN.names.append(image.name)
            problems = stored_image_problems(stubs, image)
            assert not problems, "\n".join(problems)
    elif hasattr(answer, "next_page_token"):
        remember_page(answer)


# ---- malformed bytes ----------------------------------------------------------------------

SERVICES = {
    "image": "/yandex.cloud.baremetal.v1alpha.ImageService",
    "operation": "/yandex.cloud.operation.OperationService",
}


@st.composite
def malformed(draw: st.DrawFn, message_type: type[Message]) -> bytes:
    """Bytes as a broken or hostile client sends them: random, a request cut short or with a
    byte changed, invalid UTF-8 in a string, or groups nested past the parser's limit.
    """
    kind = draw(st.sampled_from(["random", "cut", "changed", "utf8", "groups"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "groups":
        depth = draw(st.integers(1, 300))
        field = draw(st.integers(1, 20))
        return bytes([field << 3 | 3]) * depth + bytes([field << 3 | 4]) * depth
    data = draw(requests(message_type)).SerializeToString()
    if kind == "utf8":
        # Field 1 of every request here is a string: make its value invalid UTF-8.
        junk = draw(st.binary(min_size=1, max_size=8).filter(_not_utf8))
        return b"\x0a" + bytes([len(junk)]) + junk + data
    if not data:
        return b"\xff"
    position = draw(st.integers(0, len(data) - 1))
    if kind == "cut":
        return data[:position]
    return data[:position] + bytes([draw(st.integers(0, 255))]) + data[position + 1 :]


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@pytest.fixture(scope="module")
def raw_channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as channel:
        yield channel


@pytest.mark.parametrize("rpc", list(RPCS))
@fuzz(ci=60, long=1500)
@given(data=st.data())
def test_malformed_bytes_are_invalid_argument(
    raw_channel: grpc.Channel, stubs: dict[str, Any], rpc: str, data: st.DataObject
) -> None:
    """Bytes sent as a request, with no serializer: those that do not decode as the request
    message are INVALID_ARGUMENT, saying so; those that do (protobuf skips unknown fields)
    get an answer like any request's, never INTERNAL or UNKNOWN."""
    stub, method, message_type = RPCS[rpc]
    payload = data.draw(malformed(message_type), label="bytes")
    try:
        message_type.FromString(payload)
        decodes = True
    except Exception:  # DecodeError, or RecursionError-like limits of the parser
        decodes = False
    call = raw_channel.unary_unary(f"{SERVICES[stub]}/{method}")
    try:
        call(payload, timeout=20)
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        code, details = error.code(), error.details() or ""
    event(f"{rpc}: {'decodes' if decodes else 'undecodable'}: {code.name}")
    assert code not in FORBIDDEN, f"{rpc} answered {code.name}: {details}"
    if not decodes:
        assert code is grpc.StatusCode.INVALID_ARGUMENT, (code, details)
        assert "The request could not be decoded" in details


def test_the_server_logged_no_traceback(
    server: ServerProcess, stubs: dict[str, Any]
) -> None:
    """Runs last in this module: nothing the fuzzing sent made the server log a traceback."""
    log = server.server_log()
    assert not re.search(r"Traceback|Exception", log), log[-5000:]
