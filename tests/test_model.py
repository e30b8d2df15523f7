"""Unit tests of the model layer: comments, names, options, standard methods, resources."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2

from generator import model
from generator.errors import ProblemsError
from generator.model import (
    Api,
    Kind,
    OperationTypes,
    Paging,
    StandardMethod,
    build_api,
    resolve_name,
    snake_case,
    strip_comment,
)
from support import PROTO, ROOT, TEST_PROTOS, compile_descriptors, varint

IMAGE_SERVICE = "yandex/cloud/baremetal/v1alpha/image_service.proto"
PACKAGE = "yandex.cloud.baremetal.v1alpha"
GARDEN = TEST_PROTOS / "docs"
ERROR_CASES = TEST_PROTOS / "errors"


@pytest.fixture(scope="module")
def image_api() -> Api:
    return build_api(compile_descriptors([IMAGE_SERVICE]).file, [IMAGE_SERVICE])


@pytest.fixture(scope="module")
def garden_api() -> Api:
    files = ["acme/garden/v1/plant_service.proto"]
    return build_api(compile_descriptors(files, roots=(GARDEN, PROTO)).file, files)


def test_strip_comment_removes_one_space_and_keeps_paragraphs() -> None:
    assert (
        strip_comment(" First line.\n  indented\n\n Second.\n")
        == "First line.\n indented\n\nSecond."
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Image", "image"),
        ("PrivateSubnet", "private_subnet"),
        ("VPCNetwork", "vpc_network"),
        ("Disk2", "disk2"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_resolve_name_searches_from_innermost_scope_outward() -> None:
    known = {"a.b.Thing", "a.Thing", "Other", "a.b.c.Inner"}
    assert resolve_name("Thing", "a.b.c", known.__contains__) == "a.b.Thing"
    assert resolve_name("Other", "a.b.c", known.__contains__) == "Other"
    assert resolve_name("c.Inner", "a.b", known.__contains__) == "a.b.c.Inner"
    assert resolve_name(".a.Thing", "a.b", known.__contains__) == "a.Thing"
    assert resolve_name("Missing", "a.b", known.__contains__) is None


def test_only_files_to_generate_are_marked(image_api: Api) -> None:
    assert [f.name for f in image_api.generated_files] == [IMAGE_SERVICE]
    assert any(
        f.name == "yandex/cloud/operation/operation.proto" for f in image_api.files
    )


def test_comments_are_indexed_by_path(image_api: Api) -> None:
    image = image_api.message(f"{PACKAGE}.Image")
    assert image.comment == "An Image resource."
    assert (
        image.field("name").comment
        == "Name of the image.\nThe name is unique within the folder."
    )
    status = image_api.enums[f"{PACKAGE}.Image.Status"]
    assert [(v.name, v.comment) for v in status.values][1] == (
        "CREATING",
        "Image is being created.",
    )
    operation = image_api.message("yandex.cloud.operation.Operation")
    assert operation.oneof("result").comment.startswith("The operation result.\n")
    service = image_api.service(f"{PACKAGE}.ImageService")
    assert service.method("Get").comment.endswith("make a [List] request.")


def test_field_kinds(image_api: Api) -> None:
    image = image_api.message(f"{PACKAGE}.Image")
    labels = image.field("labels")
    assert labels.is_map and not labels.repeated
    assert labels.map_key.scalar == "string" and labels.map_value.scalar == "string"
    assert image.field("status").type.kind is Kind.ENUM
    assert image.field("created_at").type.name == "google.protobuf.Timestamp"
    response = image_api.message(f"{PACKAGE}.ListImagesResponse")
    assert (
        response.field("images").repeated
        and response.field("images").message_type == f"{PACKAGE}.Image"
    )
    operation = image_api.message("yandex.cloud.operation.Operation")
    assert operation.field("error").oneof == "result"
    assert operation.oneof("result").fields == ("error", "response")


def test_proto3_optional_is_not_a_oneof(garden_api: Api) -> None:
    plant = garden_api.message("acme.garden.v1.Plant")
    age = plant.field("age")
    assert age.optional and age.oneof == ""
    assert [o.name for o in plant.oneofs] == ["habitat", "marker"]


def test_operation_types_resolve_relative_and_well_known_names(image_api: Api) -> None:
    service = image_api.service(f"{PACKAGE}.ImageService")
    assert service.method("Create").operation == OperationTypes(
        f"{PACKAGE}.CreateImageMetadata", f"{PACKAGE}.Image"
    )
    # google.protobuf.Empty is not imported by the file; it ships with the protobuf runtime.
    assert service.method("Delete").operation == OperationTypes(
        f"{PACKAGE}.DeleteImageMetadata", "google.protobuf.Empty"
    )
    assert service.method("Get").operation is None


def test_standard_methods_and_resource_of_image_service(image_api: Api) -> None:
    service = image_api.service(f"{PACKAGE}.ImageService")
    kinds = {m.name: m.standard for m in service.methods}
    assert kinds == {
        "Get": StandardMethod.GET,
        "List": StandardMethod.LIST,
        "Create": StandardMethod.CREATE,
        "Update": StandardMethod.UPDATE,
        "Delete": StandardMethod.DELETE,
        "ListOperations": StandardMethod.LIST_OPERATIONS,
    }
    resource = service.resource
    assert resource is not None
    assert (resource.message, resource.id_field, resource.request_id_field) == (
        f"{PACKAGE}.Image",
        "id",
        "image_id",
    )
    assert (resource.parent_field, resource.name_field) == ("folder_id", "name")


def test_actions_are_not_standard_methods(garden_api: Api) -> None:
    service = garden_api.service("acme.garden.v1.PlantService")
    kinds = {m.name: m.standard for m in service.methods}
    assert (
        kinds["Water"] is None
    )  # returns the resource in an Operation, but is an action
    assert kinds["Prune"] is None and kinds["Repot"] is None
    assert (
        kinds["Update"] is StandardMethod.UPDATE
        and kinds["Create"] is StandardMethod.CREATE
    )
    resource = service.resource
    assert (resource.parent_field, resource.name_field) == ("garden_id", "")


def test_validation_rules(image_api: Api) -> None:
    request = image_api.message(f"{PACKAGE}.CreateImageRequest")
    labels = request.field("labels").rules
    assert [c.kind for c in labels.constraints] == [
        "length",
        "key_length",
        "key_pattern",
        "pattern",
        "size",
    ]  # the order of the official pages
    assert labels.get("pattern").pattern == "[-_0-9a-z]*"
    assert labels.get("key_pattern").pattern == "[a-z][-_0-9a-z]*"
    assert (labels.get("size").bound.high, labels.get("length").bound.high) == (64, 63)
    key_length = labels.get("key_length").bound
    assert (key_length.low, key_length.high) == (1, 63)
    assert request.field("uri").rules.required
    name = request.field("name").rules.get("length").bound
    assert (name.low, name.high) == (2, 63)
    get = image_api.message(f"{PACKAGE}.GetImageRequest").field("image_id").rules
    assert get.get("length").bound.is_exact and get.get("length").bound.low == 20
    page_size = (
        image_api.message(f"{PACKAGE}.ListImagesRequest").field("page_size").rules
    )
    bound = page_size.get("value").bound
    assert bound.high == 100 and bound.high_inclusive
    assert image_api.message(f"{PACKAGE}.Image").field("name").rules.empty


_MISPLACED_BYTES = (
    "misplaced_bytes.proto: acme.errors.v1.Counter.amount: option (yandex.cloud.bytes): "
    "applies only to string, bytes and message fields"
)


def test_option_that_cannot_apply_is_dropped_with_a_warning() -> None:
    """`(bytes)` measures strings, bytes and messages: on an int64 it cannot apply."""
    files = ["misplaced_bytes.proto"]
    descriptors = compile_descriptors(files, roots=(ERROR_CASES, PROTO)).file
    api = build_api(descriptors, files)
    assert api.message("acme.errors.v1.Counter").field("amount").rules.empty
    assert [problem.warning for problem in api.problems] == [
        f"warning: {_MISPLACED_BYTES}; the option is ignored"
    ]


def test_strict_makes_problems_errors() -> None:
    files = ["misplaced_bytes.proto"]
    descriptors = compile_descriptors(files, roots=(ERROR_CASES, PROTO)).file
    with pytest.raises(ProblemsError) as error:
        build_api(descriptors, files, strict=True)
    assert str(error.value) == _MISPLACED_BYTES


def test_problems_of_imported_files_never_stop_generation() -> None:
    files = ["imports_broken.proto"]
    descriptors = compile_descriptors(files, roots=(ERROR_CASES, PROTO)).file
    api = build_api(descriptors, files, strict=True)
    assert [problem.file for problem in api.problems] == ["bad_length.proto"]
    service = api.service("acme.errors.v1.TicketService")
    assert service is not None and service.method("Get") is not None


def test_operation_types_that_do_not_resolve_are_untyped_any() -> None:
    files = ["unresolved_metadata.proto"]
    descriptors = compile_descriptors(files, roots=(ERROR_CASES, PROTO)).file
    api = build_api(descriptors, files)
    method = api.service("acme.errors.v1.JobService").method("Start")
    assert method.operation == OperationTypes(
        "google.protobuf.Any", "acme.errors.v1.Job"
    )
    (problem,) = api.problems
    assert problem.option == "yandex.cloud.api.operation"
    assert problem.consequence == "the metadata is taken as google.protobuf.Any"


def test_referrers_are_the_messages_with_a_field_of_each_type(garden_api: Api) -> None:
    """The way back up from a message or enum: every message with a field of its type, a
    map's value type included, and a message that holds itself."""
    referrers = garden_api.referrers
    assert referrers["acme.garden.v1.Plant.Kind"] == ("acme.garden.v1.Plant",)
    assert referrers["acme.garden.v1.Coordinates"] == ("acme.garden.v1.Plant",)
    assert set(referrers["acme.garden.v1.Plant"]) == {
        "acme.garden.v1.Plant",
        "acme.garden.v1.ListPlantsResponse",
    }
    assert "acme.garden.v1.ListPlantsResponse" not in referrers


def test_a_json_name_that_is_not_utf8_is_read_with_replacement_characters() -> None:
    """protobuf accepts a `json_name` that is not UTF-8, and gives it (a proto2 string) as
    bytes: the model reads it as text, as it reads such comments (found by the plugin fuzz
    test: it was an internal error)."""
    image_file = "yandex/cloud/baremetal/v1alpha/image.proto"
    files = list(compile_descriptors([IMAGE_SERVICE]).file)
    index = next(i for i, f in enumerate(files) if f.name == image_file)
    data = files[index].SerializeToString()
    assert data.count(b"R\x08folderId") == 1  # Image.folder_id's json_name (field 10)
    files[index] = descriptor_pb2.FileDescriptorProto.FromString(
        data.replace(b"R\x08folderId", b"R\x08\xe4olderId")
    )
    api = build_api(files, [IMAGE_SERVICE])
    item = api.messages["yandex.cloud.baremetal.v1alpha.Image"].field("folder_id")
    assert item is not None and item.json_name == "\ufffdolderId"


def test_a_file_name_that_is_not_utf8_is_read_with_replacement_characters() -> None:
    """The same for a file's name, which protobuf accepts in any bytes."""
    image_file = b"yandex/cloud/baremetal/v1alpha/image.proto"
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(
            proto.SerializeToString().replace(
                image_file, image_file[:-11] + b"\xe4mage.proto"
            )
        )
        for proto in compile_descriptors([IMAGE_SERVICE]).file
    ]
    api = build_api(files, [IMAGE_SERVICE])
    image = api.messages["yandex.cloud.baremetal.v1alpha.Image"]
    assert image.file == "yandex/cloud/baremetal/v1alpha/\ufffdmage.proto"
    assert image.file in {proto_file.name for proto_file in api.files}


def test_an_rpc_whose_type_is_no_message_is_left_out_with_a_warning() -> None:
    """Protoc resolves an rpc's types; a descriptor it never sent may name none, and the
    rpc is then left out, where the views failed on it (found by the plugin fuzz test).
    """
    files = list(compile_descriptors([IMAGE_SERVICE]).file)
    service_file = next(f for f in files if f.name == IMAGE_SERVICE)
    create = next(m for m in service_file.service[0].method if m.name == "Create")
    create.input_type = ".yandex.cloud.baremetal.v1alpha.CreateImageReque"
    api = build_api(files, [IMAGE_SERVICE])
    service = api.service("yandex.cloud.baremetal.v1alpha.ImageService")
    assert service is not None and service.method("Create") is None
    assert service.method("Get") is not None
    assert [problem.warning for problem in api.problems] == [
        f"warning: {IMAGE_SERVICE}: yandex.cloud.baremetal.v1alpha.ImageService.Create: "
        "type 'yandex.cloud.baremetal.v1alpha.CreateImageReque' is no message of the "
        "request; the rpc is left out"
    ]


@pytest.mark.parametrize("pickled", [False, True])
def test_equal_names_and_comments_are_one_object(pickled: bool) -> None:
    """Names, files, packages, type names and comments that read alike are one string object,
    and stay so through pickle, which writes each object once: the part of the model that a
    forked process builds comes back in fewer bytes (on the whole public API, 3.2 MB rather
    than 4.6)."""
    files = [
        IMAGE_SERVICE,
        "yandex/cloud/baremetal/v1alpha/configuration_service.proto",
    ]
    api = build_api(compile_descriptors(files).file, files)
    if pickled:
        api = pickle.loads(pickle.dumps(api, protocol=pickle.HIGHEST_PROTOCOL))
    texts: dict[str, set[int]] = {}

    def note(*values: str) -> None:
        for value in values:
            texts.setdefault(value, set()).add(id(value))

    for message in api.messages.values():
        note(
            message.full_name,
            message.name,
            message.file,
            message.package,
            message.comment,
        )
        for item in message.fields:
            note(item.name, item.json_name, item.comment, item.type.name, item.oneof)
    for enum in api.enums.values():
        note(enum.full_name, enum.name, enum.file, enum.package)
        for value in enum.values:
            note(value.name, value.comment)
    for service in api.services:
        note(service.file, service.package)
        for method in service.methods:
            note(method.name, method.input, method.output)
    shared = {text for text, objects in texts.items() if len(objects) > 1}
    assert shared == set()
    # Not vacuous: names that many elements carry.
    assert {PACKAGE, "folder_id", "folderId", "page_token"} <= set(texts)


def test_operation_without_metadata_has_none(garden_api: Api) -> None:
    method = garden_api.service("acme.garden.v1.PlantService").method("Repot")
    assert method.operation.metadata == ""
    assert method.operation.metadata_message == "google.protobuf.Any"
    assert not garden_api.problems


def test_exactly_one_on_oneof(garden_api: Api) -> None:
    water = garden_api.message("acme.garden.v1.WaterPlantRequest")
    assert water.oneof("amount").exactly_one
    assert not garden_api.message("acme.garden.v1.Plant").oneof("habitat").exactly_one


_RULES_SCRIPT = """
import json, sys
sys.path[:0] = {paths!r}
if {import_first}:
    import yandex.cloud.validation_pb2, yandex.cloud.api.operation_pb2  # extensions known before parsing
from generator.model import build_api
from support import compile_descriptors
data = compile_descriptors([{file!r}]).SerializeToString()
from google.protobuf import descriptor_pb2
files = descriptor_pb2.FileDescriptorSet.FromString(data).file
api = build_api(files, [{file!r}])
print(json.dumps({{
    "rules": repr(api.message("{package}.CreateImageRequest").field("labels").rules),
    "operation": repr(api.service("{package}.ImageService").method("Update").operation),
}}))
"""


def test_options_read_the_same_whatever_the_import_order() -> None:
    """The upb pitfall: extensions parsed before their _pb2 module loads read as defaults."""
    results = []
    for import_first in (True, False):
        script = _RULES_SCRIPT.format(
            paths=[str(ROOT / "generated"), str(ROOT / "tests"), str(ROOT)],
            import_first=import_first,
            file=IMAGE_SERVICE,
            package=PACKAGE,
        )
        output = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert output.returncode == 0, output.stderr
        results.append(json.loads(output.stdout))
    assert results[0] == results[1]
    assert (
        "[-_0-9a-z]*" in results[0]["rules"]
        and "UpdateImageMetadata" in results[0]["operation"]
    )


def test_paging_is_derived_once_for_every_view(image_api: Api) -> None:
    service = image_api.service(f"{PACKAGE}.ImageService")
    paging = {m.name: m.paging for m in service.methods}
    assert paging["List"] == Paging("images", f"{PACKAGE}.Image")
    assert paging["ListOperations"] == Paging(
        "operations", "yandex.cloud.operation.Operation"
    )
    assert paging["Get"] is None and paging["Update"] is None


def test_packed_repeated_options_decode_with_the_others() -> None:
    """A repeated enum option (google.api.field_behavior) may come packed, as the SDK's
    descriptors have it; it must not hide the field's other options."""
    from generator import wire

    behavior = wire.OptionField(
        "google.api.field_behavior", 14, "google.api.FieldBehavior", repeated=True
    )
    length = wire.OptionField("yandex.cloud.length", 9, "")
    sizes = wire.OptionField("test.sizes", 7, "", repeated=True)  # fixed32

    def key(number: int, wire_type: int) -> bytes:
        return varint(number << 3 | wire_type)

    data = (
        key(1052, 2)
        + bytes([2, 2, 5])  # packed: [2, 5]
        + key(1001, 2)
        + bytes([4])
        + b"<=50"
        + key(1, 2)
        + bytes([8])
        + (7).to_bytes(4, "little")
        + (9).to_bytes(4, "little")
    )
    decoded = wire.decode_message(
        data, {1052: behavior, 1001: length, 1: sizes}, lambda message: {}
    )
    assert decoded == {
        "google.api.field_behavior": 5,
        "yandex.cloud.length": "<=50",
        "test.sizes": 9,
    }


@pytest.mark.parametrize(
    "value",
    [
        bytes([2 << 3 | 2, 8]) + (7).to_bytes(8, "little"),  # length-delimited
        bytes([2 << 3 | 5]) + (7).to_bytes(4, "little"),  # 32 bits for a double
    ],
)
def test_a_fixed_size_option_of_another_wire_type_is_an_error_of_its_own(
    value: bytes,
) -> None:
    """A double option that comes in another wire type is that option's error, and the
    others decode (found by the plugin fuzz test: it was an internal error)."""
    from generator import wire

    ratio = wire.OptionField("test.ratio", 1, "")  # TYPE_DOUBLE
    length = wire.OptionField("yandex.cloud.length", 9, "")
    errors: list[tuple[str, str]] = []
    decoded = wire.decode_message(
        value + bytes([3 << 3 | 2, 4]) + b"<=50",
        {2: ratio, 3: length},
        lambda message: {},
        errors,
    )
    assert decoded == {"yandex.cloud.length": "<=50"}
    assert errors == [("test.ratio", "expected a fixed-size value")]


@pytest.mark.parametrize("parts", [1, 2, 3, 5])
def test_files_are_shared_in_contiguous_runs_none_empty(parts: int) -> None:
    files = [
        descriptor_pb2.FileDescriptorProto(name=f"{index}.proto", package="p" * size)
        for index, size in enumerate([40, 5, 300, 20, 20, 120, 7, 60])
    ]
    shares = model._shares(files, parts, {})
    assert [item for share in shares for item in share] == files
    assert len(shares) == min(parts, len(files)) and all(shares)
    if parts == 2:  # about half each: the first ends with the file that passes half
        first = sum(item.ByteSize() for item in shares[0][:-1])
        assert first * 2 < sum(item.ByteSize() for item in files)
        assert (first + shares[0][-1].ByteSize()) * 2 >= sum(
            item.ByteSize() for item in files
        )


def test_file_sizes_are_source_location_counts_where_every_file_has_them() -> None:
    def proto_file(locations: int, package: str) -> descriptor_pb2.FileDescriptorProto:
        made = descriptor_pb2.FileDescriptorProto(
            name=f"{package}.proto", package=package
        )
        for index in range(locations):
            made.source_code_info.location.add(path=[4, index])
        return made

    located = [proto_file(3, "a"), proto_file(1, "bbbbbbbbbbbbbbbbbbbb")]
    assert model._sizes(located, {}) == [3, 1]
    # One file without source information: sizes in bytes for all, so that they compare.
    mixed = [*located, proto_file(0, "c")]
    assert model._sizes(mixed, {}) == [item.ByteSize() for item in mixed]
    # Source information set apart (`source_info.split_source_info`): its size in bytes.
    apart = {"a.proto": b"12345", "bbbbbbbbbbbbbbbbbbbb.proto": b"1"}
    assert model._sizes(located, apart) == [5, 1]
    assert model._sizes(located, {"a.proto": b"12345"}) == [3, 1]
