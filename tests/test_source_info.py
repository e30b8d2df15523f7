"""Each file's source information set apart from the request unparsed
(`generator.source_info`), and the model built from it as from the whole request."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError

from generator.errors import GeneratorError
from generator.model import build_api
from generator.plugin import plan_run
from generator.source_info import split_source_info
from support import PROTO, make_request, varint

IMAGE_SERVICE = "yandex/cloud/baremetal/v1alpha/image_service.proto"
FILES = [
    IMAGE_SERVICE,
    "yandex/cloud/baremetal/v1alpha/configuration_service.proto",
    "yandex/cloud/operation/operation_service.proto",
]


@pytest.fixture(scope="module")
def request_() -> plugin_pb2.CodeGeneratorRequest:
    return make_request(FILES, "targets=docs", roots=(PROTO,))


def test_the_request_comes_back_without_source_info_and_the_info_apart(
    request_: plugin_pb2.CodeGeneratorRequest,
) -> None:
    light, source_info = split_source_info(request_.SerializeToString())
    expected = plugin_pb2.CodeGeneratorRequest()
    expected.CopyFrom(request_)
    for proto_file in expected.proto_file:
        kept = descriptor_pb2.SourceCodeInfo.FromString(source_info[proto_file.name])
        assert kept == proto_file.source_code_info and kept.location
        proto_file.ClearField("source_code_info")
    assert light == expected
    assert light.parameter == "targets=docs" and list(light.file_to_generate) == FILES


def test_source_info_in_pieces_is_their_merge(
    request_: plugin_pb2.CodeGeneratorRequest,
) -> None:
    """A message field that comes twice is the merge of both, as protobuf parses it."""
    whole = request_.proto_file[0]
    first = descriptor_pb2.FileDescriptorProto(name=whole.name)
    first.source_code_info.location.extend(whole.source_code_info.location[:5])
    second = descriptor_pb2.FileDescriptorProto()
    second.source_code_info.location.extend(whole.source_code_info.location[5:])
    data = first.SerializeToString() + second.SerializeToString()
    # The file as the request's field `proto_file` (15), in two pieces of source information.
    _, source_info = split_source_info(b"\x7a" + varint(len(data)) + data)
    assert (
        descriptor_pb2.SourceCodeInfo.FromString(source_info[whole.name])
        == whole.source_code_info
    )


def test_files_without_source_info_are_left_out() -> None:
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=["a.proto"])
    request.proto_file.add(name="a.proto", package="a")
    light, source_info = split_source_info(request.SerializeToString())
    assert source_info == {} and light == request


def test_bytes_that_are_not_a_request_raise_as_parsing_does() -> None:
    with pytest.raises(DecodeError):
        split_source_info(b"\xff\xff\xff\x07 not a request")


@pytest.mark.parametrize("processes", [1, 2])
def test_the_model_is_the_same_built_from_the_info_apart(
    request_: plugin_pb2.CodeGeneratorRequest, processes: int
) -> None:
    whole = build_api(request_.proto_file, FILES, processes=1)
    light, source_info = split_source_info(request_.SerializeToString())
    apart = build_api(
        light.proto_file, FILES, processes=processes, source_info=source_info
    )
    assert apart == whole
    assert apart.messages == whole.messages and apart.enums == whole.enums
    image = whole.messages["yandex.cloud.baremetal.v1alpha.Image"]
    assert image.comment  # comments came through


@pytest.mark.parametrize("processes", [1, 2])
def test_source_info_that_does_not_parse_makes_the_request_unreadable(
    request_: plugin_pb2.CodeGeneratorRequest, processes: int
) -> None:
    """Set apart unparsed, a file's source information is parsed when its file is built:
    bytes that are no SourceCodeInfo are the error that parsing the request would have been,
    naming the file, whichever process builds it."""
    light, source_info = split_source_info(request_.SerializeToString())
    broken = {**source_info, IMAGE_SERVICE: b"\xff\xff\xff"}
    with pytest.raises(GeneratorError) as raised:
        build_api(light.proto_file, FILES, processes=processes, source_info=broken)
    assert str(raised.value).startswith(
        f"cannot parse the CodeGeneratorRequest: {IMAGE_SERVICE}: its source information:"
    )


@pytest.mark.parametrize(
    "error, broken", [("option", False), ("option", True), ("schema", True)]
)
def test_an_earlier_error_does_not_hide_source_info_that_does_not_parse(
    request_: plugin_pb2.CodeGeneratorRequest, error: str, broken: bool
) -> None:
    """The options are read, and the files before it built, before the model parses a
    file's source information: with an unknown option, or a descriptor that protobuf would
    refuse in an earlier file (a field in a oneof that is not there), a request whose source
    information does not parse is still the request that does not parse (found by the
    plugin fuzz test). One that parses gets the option's error."""
    light, source_info = split_source_info(request_.SerializeToString())
    if broken:
        source_info = {**source_info, IMAGE_SERVICE: b"\xff\xff\xff"}
    if error == "option":
        light.parameter = "no_such_option=1"
    else:
        first = next(f for f in light.proto_file if f.message_type)
        first.message_type[0].field[0].oneof_index = 99
    with pytest.raises(GeneratorError) as raised:
        plan_run(light, source_info=source_info)
    assert str(raised.value).startswith(
        f"cannot parse the CodeGeneratorRequest: {IMAGE_SERVICE}: its source information:"
        if broken
        else "unknown option 'no_such_option'"
    )
