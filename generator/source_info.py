"""Each file's source information, set apart from a serialized request unparsed.

On a whole API, the files' `SourceCodeInfo` (a location for every element, option and comment:
200,000 on the public API) is nine tenths of what parsing the request costs, and the model reads
only the leading comments of it. So the request is first read with a light schema that knows of
each file only its name and its source information, as bytes: protobuf keeps the rest of each
file as it came, and writes it back as it was. The request is then parsed without the source
information, and each file's is parsed by the process that builds that file's part of the model
(`model.build_api`), while the others build theirs.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError, Message

from generator.errors import GeneratorError

_Field = descriptor_pb2.FieldDescriptorProto


def _light_request() -> type[Message]:
    """CodeGeneratorRequest as far as the files' names and source information."""
    schema = descriptor_pb2.FileDescriptorProto(
        name="protoc_gen_python_custom/light_request.proto",
        package="protoc_gen_python_custom.light",
    )
    request = schema.message_type.add(name="Request")
    request.field.add(
        name="proto_file",
        number=plugin_pb2.CodeGeneratorRequest.PROTO_FILE_FIELD_NUMBER,
        type=_Field.TYPE_MESSAGE,
        type_name=".protoc_gen_python_custom.light.File",
        label=_Field.LABEL_REPEATED,
    )
    proto_file = schema.message_type.add(name="File")
    proto_file.field.add(
        name="name",
        number=descriptor_pb2.FileDescriptorProto.NAME_FIELD_NUMBER,
        type=_Field.TYPE_STRING,
        label=_Field.LABEL_OPTIONAL,
    )
    # Repeated: a message field that comes more than once is the merge of its pieces.
    proto_file.field.add(
        name="source_code_info",
        number=descriptor_pb2.FileDescriptorProto.SOURCE_CODE_INFO_FIELD_NUMBER,
        type=_Field.TYPE_BYTES,
        label=_Field.LABEL_REPEATED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(schema)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("protoc_gen_python_custom.light.Request")
    )


_LIGHT_REQUEST = _light_request()


def split_source_info(
    data: bytes,
) -> tuple[plugin_pb2.CodeGeneratorRequest, dict[str, bytes]]:
    """The request without its files' source information, and that information serialized,
    by file name (files without any are left out). Raises DecodeError as parsing would.
    """
    light = _LIGHT_REQUEST.FromString(data)
    source_info: dict[str, bytes] = {}
    for proto_file in light.proto_file:  # type: ignore[attr-defined]
        if proto_file.source_code_info:
            source_info[text(proto_file.name)] = b"".join(proto_file.source_code_info)
            proto_file.ClearField("source_code_info")
    request = plugin_pb2.CodeGeneratorRequest.FromString(light.SerializeToString())
    return request, source_info


def text(value: str | bytes) -> str:
    """A proto2 string that protobuf accepts in any bytes (a file's name, a field's JSON name, a
    comment), which it gives as `bytes` where they are not UTF-8: as text, with replacement
    characters there. Read such a field with `getattr`, typed as what it may be: the compiled
    modules (`native`) check that a value read as `str` is one."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def readable_file_names(
    proto_files: Sequence[descriptor_pb2.FileDescriptorProto],
    to_generate: Iterable[str | bytes],
) -> set[str]:
    """Makes the files' names and imports text (see `text`) where they are bytes, in place,
    and gives the names of the files to generate as text: so that the model and the views
    read every file name as text."""
    for proto_file in proto_files:
        name: str | bytes = getattr(proto_file, "name")
        if isinstance(name, bytes):
            proto_file.name = text(name)
        imports: list[str | bytes] = list(getattr(proto_file, "dependency"))
        if any(isinstance(imported, bytes) for imported in imports):
            del proto_file.dependency[:]
            proto_file.dependency.extend(text(imported) for imported in imports)
    return {text(name) for name in to_generate}


def parsed_source_info(file: str, data: bytes) -> descriptor_pb2.SourceCodeInfo:
    """A file's source information set apart from the request, parsed: bytes that do not
    parse make the request unreadable, as they would have parsed with it."""
    try:
        return descriptor_pb2.SourceCodeInfo.FromString(data)
    except DecodeError as error:
        raise GeneratorError(
            f"cannot parse the CodeGeneratorRequest: {file}: its source information: "
            f"{error}"
        ) from None


def check_source_info(source_info: Mapping[str, bytes]) -> None:
    """Raises as `parsed_source_info` for the first file whose source information does not
    parse: for an error found before the model parses them, which a request that does not
    parse must not hide."""
    for file, data in source_info.items():
        parsed_source_info(file, data)
