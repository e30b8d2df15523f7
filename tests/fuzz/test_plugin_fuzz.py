"""Fuzzing the plugin: random valid and malformed schemas, random request bytes, and malformed
option values on a fixed schema. The plugin answers with files (and a warning line for each
problem it went on after) or, with strict=true, with one error line per problem; it never
raises, and what it writes is valid, formatted Python and well-formed docs pages."""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import black
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.compiler import plugin_pb2
from google.protobuf.message import DecodeError
from grpc_tools import protoc
from hypothesis import HealthCheck, assume, event, given, note
from hypothesis import strategies as st

import generator.plugin
from fuzzing import fuzz
from generator.model import strip_comment
from generator.plugin import generate
from generator.python_names import docstring, python_literal
from messages import message_strategy
from schemas import (
    COMMENT_TEXT,
    FDP,
    OPERATION,
    Expect,
    Schema,
    base_files,
    json_name,
    length_delimited,
    operation_bytes,
    option_bytes,
    schemas,
    varint,
    EXACTLY_ONE,
    PARAMETERS,
)
from support import FORBID_BUILD_TOOLS, PROTO, compile_descriptors, make_request

BIN = Path(sys.executable).parent
IMAGE_SERVICE = "yandex/cloud/baremetal/v1alpha/image_service.proto"
RUNTIME = "yc_runtime/"


# ---- 1. random schemas ---------------------------------------------------------------------


def _names_a_culprit(schema: Schema, line: str) -> bool:
    return any(
        c.file in line and c.element in line and c.option in line
        for c in schema.culprits
    )


def error_line_problems(schema: Schema, error: str) -> list[str]:
    """What is wrong with an error response to `schema` (nothing, if all is right). With
    strict=true it has one line per problem of the schema, each naming its file."""
    problems = []
    files = [f.name for f in schema.request.proto_file]
    collision = DOCS_COLLISION.search(error)
    if collision:  # two rpcs whose pages would have the same path: check the claim
        if "\n" in error:
            problems.append("the error is more than one line")
        rpcs = rpc_names(schema)
        one, other = collision.group("rpc"), collision.group("other")
        if one == other or one not in rpcs or other not in rpcs:
            problems.append("a docs page collision between rpcs that do not collide")
    elif schema.expect is Expect.VALID:
        problems.append("nothing is fatal here, yet the plugin reported an error")
    for line in error.splitlines():
        if not any(line.startswith(name + ": ") for name in files):
            problems.append(f"an error line does not start with a file: {line}")
        if not collision and not _names_a_culprit(schema, line):
            problems.append(f"an error line names no culprit: {line}")
    if error.startswith("internal error"):
        problems.append("an internal error")
    return problems


def warning_problems(schema: Schema, warnings: list[str]) -> list[str]:
    """Every problem the plugin went on after is one warning line naming it."""
    problems = []
    for line in warnings:
        if "\n" in line or not line.startswith("warning: "):
            problems.append(f"not a one-line warning: {line!r}")
        elif not _names_a_culprit(schema, line):
            problems.append(f"a warning names no culprit: {line}")
    for culprit in schema.culprits:
        if culprit.expect is Expect.PROBLEM and not any(
            culprit.file in line and culprit.element in line and culprit.option in line
            for line in warnings
        ):
            problems.append(f"no warning about {culprit}")
    return problems


DOCS_COLLISION = re.compile(
    r": (?P<rpc>[\w.]+): its docs page \S+ is that of (?P<other>[\w.]+) too$"
)


def service_names(schema: Schema) -> set[str]:
    """Full names of the services of the files to generate."""
    generated = set(schema.request.file_to_generate)
    return {
        ".".join(filter(None, [proto.package, service.name]))
        for proto in schema.files
        if proto.name in generated
        for service in proto.service
    }


def rpc_names(schema: Schema) -> set[str]:
    """Full names of the rpcs of the files to generate."""
    generated = set(schema.request.file_to_generate)
    return {
        ".".join(filter(None, [proto.package, service.name, method.name]))
        for proto in schema.files
        if proto.name in generated
        for service in proto.service
        for method in service.method
    }


def output_problems(
    response: plugin_pb2.CodeGeneratorResponse, parameter: str = ""
) -> list[str]:
    """Every generated module compiles and is a black fixed point; every page has front matter
    naming its own path (or none, in the current format)."""
    problems = []
    names = [item.name for item in response.file]
    if len(names) != len(set(names)):
        problems.append(f"duplicate output files: {sorted(names)}")
    for item in response.file:
        name, content = item.name, item.content
        if name.endswith(".py"):
            try:
                compile(content, name, "exec")
            except SyntaxError as error:
                problems.append(f"{name} does not compile: {error}")
                continue
        if name.endswith((".py", ".pyi")) and not name.startswith(RUNTIME):
            mode = black.Mode(is_pyi=name.endswith(".pyi"))
            try:
                formatted = black.format_str(content, mode=mode)
            except black.InvalidInput as error:
                problems.append(f"{name}: black cannot parse it: {error}")
                continue
            if formatted != content:
                problems.append(
                    f"{name} is not a black fixed point:\n{_diff(content, formatted)}"
                )
        if name.endswith(".md"):
            source = (
                "" if "docs_format=current" in parameter else f"sourcePath: {name}\n"
            )
            front = f"---\neditable: false\n{source}---\n\n# "
            if not content.startswith(front):
                problems.append(
                    f"{name} does not start with its front matter: {content[:200]!r}"
                )
    return problems


def _diff(before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), lineterm="", n=1
    )
    return "\n".join(list(lines)[:40])


@fuzz(ci=150, long=3000)
@given(schema=schemas())
def test_random_schema_gives_files_or_one_error_line(schema: Schema) -> None:
    """generate() never raises. A valid schema gives the same files every time: Python that
    compiles and black leaves as it is, and one docs page per rpc, each starting with its front
    matter. A malformed one gives, with strict=true, a single error line naming the file,
    element and option; by default, files and a warning naming them.
    """
    warnings: list[str] = []
    response = generate(schema.request, warnings)
    note(schema.describe())
    strict = "strict=true" in schema.request.parameter
    if response.error:
        problems = error_line_problems(schema, response.error)
        if not strict and not DOCS_COLLISION.search(response.error):
            problems.append("an error without strict=true that is no docs collision")
        assert not problems and not response.file, (problems, response.error)
        return
    assert schema.expect is not Expect.PROBLEM, "strict, yet the plugin went on"
    problems = warning_problems(schema, warnings) + output_problems(
        response, schema.request.parameter
    )
    assert not problems, "\n".join(problems)
    targets = re.search(r"targets=([^,]*)", schema.request.parameter)
    if targets is None or "docs" in targets.group(1):
        pages = [item.name for item in response.file if item.name.endswith(".md")]
        indexes = [name for name in pages if name.endswith("/index.md")]
        assert len(indexes) == len(service_names(schema)), f"pages: {pages}"
        assert len(pages) - len(indexes) == len(rpc_names(schema)), f"pages: {pages}"
    again = generate(schema.request)
    assert (
        again.SerializeToString() == response.SerializeToString()
    ), "not deterministic"


# Characters that docstrings and black treat specially, and wide ones.
TRICKY = list("\"'\\\r\t\x0b\x0c\x1c\x85\u2028 a中😀") + ['"""']
COMMENT_LINES = st.one_of(
    COMMENT_TEXT, st.lists(st.sampled_from(TRICKY), max_size=12).map("".join)
)


@fuzz(ci=300, long=20000)
@given(
    lines=st.lists(COMMENT_LINES, min_size=1, max_size=4),
    depth=st.integers(1, 3),
)
def test_docstrings_are_black_fixed_points(lines: list[str], depth: int) -> None:
    """python_names.docstring of any comment protoc can send (any character but NUL, lines
    of any length): black leaves the docstring as it is, and Python reads it back."""
    comment = strip_comment("".join(f" {line}\n" for line in lines))
    indent = "    " * depth
    literal = docstring(comment, indent)
    assume(literal)
    source = "".join(
        "    " * level + f"def f{level}() -> None:\n" for level in range(depth)
    )
    source += f"{indent}{literal}\n"
    compile(source, "docstring.py", "exec")
    assert black.format_str(source, mode=black.Mode()) == source


@fuzz(ci=300, long=20000)
@given(value=st.one_of(st.text(), st.floats(allow_nan=False, allow_infinity=False)))
def test_literals_are_black_fixed_points(value: object) -> None:
    """python_names.python_literal of a string or a float: what black writes, and the value."""
    source = f"x = {python_literal(value)}\n"
    namespace: dict[str, object] = {}
    exec(compile(source, "literal.py", "exec"), namespace)
    assert namespace["x"] == value
    assert black.format_str(source, mode=black.Mode()) == source


# Generating protoc's modules and importing everything in a fresh process is slow: a few
# examples per run.
_IMPORT_AND_SERVE = FORBID_BUILD_TOOLS + r"""
import importlib, json, pathlib, sys
sys.path.insert(0, str(pathlib.Path.cwd()))
plan = json.loads(sys.stdin.read())
for name in plan["modules"]:
    importlib.import_module(name)
results = []
if plan["calls"]:
    import grpc
    import api_server
    from yc_runtime import server

    running = server.start(api_server.SERVICES, endpoint_ids=api_server.ENDPOINT_IDS)
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        for path, payload in plan["calls"]:
            call = channel.unary_unary(path)
            try:
                call(bytes.fromhex(payload), timeout=20)
                results.append([path, "OK", ""])
            except grpc.RpcError as error:
                results.append([path, error.code().name, error.details()])
    running.stop(grace=None)
print(json.dumps(results))
"""
FORBIDDEN_CODES = {"INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED", "UNAVAILABLE"}
ALL_TARGETS_MOSTLY = st.one_of(st.just(""), st.just(""), st.just(""), PARAMETERS)


@functools.cache
def runtime_protos() -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    """What the runtime imports besides the request's files: OperationService and
    ApiEndpointService, as `make generate` makes them from proto/."""
    files = [
        "yandex/cloud/operation/operation_service.proto",
        "yandex/cloud/endpoint/api_endpoint_service.proto",
    ]
    return tuple(compile_descriptors(files).file)


def protoc_outputs(request: plugin_pb2.CodeGeneratorRequest, out: Path) -> None:
    """protoc's own _pb2, _pb2_grpc and .pyi modules of the random files, the yandex imports
    and OperationService (google's come with the protobuf and googleapis packages)."""
    protos = {p.name: p for p in [*runtime_protos(), *request.proto_file]}
    descriptor_set = out / "set.pb"
    descriptor_set.write_bytes(
        descriptor_pb2.FileDescriptorSet(file=protos.values()).SerializeToString()
    )
    files = [name for name in protos if not name.startswith("google/")]
    arguments = [
        "protoc",
        f"--descriptor_set_in={descriptor_set}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    assert protoc.main(arguments) == 0, "protoc rejected the schema"
    descriptor_set.unlink()


def random_calls(schema: Schema, data: st.DataObject) -> list[list[str]]:
    """Random requests (as hex) for every unary rpc of the generated files."""
    pool = descriptor_pool.DescriptorPool()
    for proto in schema.request.proto_file:
        pool.Add(proto)
    generated = set(schema.request.file_to_generate)
    calls = []
    for proto in schema.files:
        if proto.name not in generated:
            continue
        for service in proto.service:
            full_service = (
                f"{proto.package}.{service.name}" if proto.package else service.name
            )
            for method in service.method:
                if method.client_streaming or method.server_streaming:
                    continue
                path = f"/{full_service}/{method.name}"
                calls.append([path, ""])  # the empty request
                request_type = pool.FindMessageTypeByName(method.input_type.lstrip("."))
                for _ in range(2):
                    message = data.draw(
                        message_strategy(request_type, depth=1), label=path
                    )
                    calls.append([path, message.SerializeToString().hex()])
    return calls


def grpc_tools_safe_comments(request: plugin_pb2.CodeGeneratorRequest) -> None:
    """grpc_tools writes service and rpc comments into docstrings of _pb2_grpc.py as they
    are, so `\"\"\"`, a backslash or bytes that are not UTF-8 there break protoc's own module
    (not this plugin's): such comments lose them."""
    for proto in request.proto_file:
        for location in proto.source_code_info.location:
            if location.path and location.path[0] == 6:  # a service or one of its rpcs
                text = location.leading_comments
                if isinstance(text, bytes):
                    text = text.decode("utf-8", "ignore")
                location.leading_comments = text.replace('"', "").replace("\\", "")


@fuzz(ci=20, long=400, suppress_health_check=list(HealthCheck))
@given(schema=schemas(malformed=False, parameters=ALL_TARGETS_MOSTLY), data=st.data())
def test_generated_code_imports_and_serves(
    schema: Schema, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """For a valid schema, protoc's modules plus the plugin's import in a fresh process with
    the runtime libraries alone; the generated api_server starts, and no rpc of it answers an
    empty or random request with INTERNAL or UNKNOWN."""
    grpc_tools_safe_comments(schema.request)
    response = generate(schema.request)
    assert not response.error, response.error
    out = tmp_path_factory.mktemp("generated")
    protoc_outputs(schema.request, out)
    for item in response.file:
        target = out / item.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content, encoding="utf-8")
    modules = sorted(
        item.name[: -len(".py")].replace("/", ".")
        for item in response.file
        if item.name.endswith(".py")
    )
    serves = any(item.name == "api_server.py" for item in response.file)
    plan = {"modules": modules, "calls": random_calls(schema, data) if serves else []}
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_AND_SERVE],
        cwd=out,
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    answers = json.loads(result.stdout.splitlines()[-1])
    event(f"served {len(answers)} calls" if serves else "no server")
    for _, code, _ in answers:
        event(f"answer {code}")
    broken = [answer for answer in answers if answer[1] in FORBIDDEN_CODES]
    assert (
        not broken
    ), f"{broken}\n(server output in {out}; stderr: {result.stderr[-3000:]})"


# ---- 2. random bytes -----------------------------------------------------------------------


def run_main(data: bytes) -> bytes:
    """generator.plugin.main with stdin and stdout replaced, as protoc runs it."""
    stdin, stdout = sys.stdin, sys.stdout
    out = io.BytesIO()
    sys.stdin = types.SimpleNamespace(buffer=io.BytesIO(data))  # type: ignore[assignment]
    sys.stdout = types.SimpleNamespace(buffer=out)  # type: ignore[assignment]
    try:
        generator.plugin.main()
    finally:
        sys.stdin, sys.stdout = stdin, stdout
    return out.getvalue()


@functools.cache
def image_request() -> bytes:
    """The request protoc sends for the image API."""
    return make_request(
        [IMAGE_SERVICE], f"docs_config={PROTO / 'docs.toml'}"
    ).SerializeToString()


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    """A real request with bytes flipped, dropped, inserted or cut: it often still parses,
    with descriptors protoc would never send."""
    data = bytearray(image_request())
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "drop", "insert", "cut"]))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "drop":
            del data[position : position + draw(st.integers(1, 8))]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[position:]
        if not data:
            break
    return bytes(data)


def parses(data: bytes) -> bool:
    try:
        plugin_pb2.CodeGeneratorRequest.FromString(data)
    except DecodeError:
        return False
    return True


def descriptors_are_sound(data: bytes) -> bool:
    """Whether protobuf itself accepts the request's files: then protoc could have sent them."""
    pool = descriptor_pool.DescriptorPool()
    try:
        for proto in plugin_pb2.CodeGeneratorRequest.FromString(data).proto_file:
            pool.Add(proto)
    except Exception:  # noqa: BLE001 - any complaint at all
        return False
    return True


@fuzz(ci=100, long=5000)
@given(data=st.one_of(st.binary(), mutated_requests()))
def test_random_bytes_give_an_error_response(data: bytes) -> None:
    """Whatever protoc (or anything else) writes to the plugin, it answers with a
    CodeGeneratorResponse: an error line for bytes that are no request, never a traceback,
    and no internal error for descriptors that protobuf accepts."""
    response = plugin_pb2.CodeGeneratorResponse.FromString(run_main(data))
    note(f"error: {response.error!r}")
    if not parses(data):
        assert response.error.startswith("cannot parse the CodeGeneratorRequest")
        assert not response.file
    if response.error:
        assert "\n" not in response.error and not response.file
        assert "Traceback" not in response.error
        if response.error.startswith("internal error"):
            event("internal error on unsound descriptors")
            assert not descriptors_are_sound(data), response.error


@fuzz(ci=3, long=100)
@given(data=st.one_of(st.binary(), mutated_requests()))
def test_random_bytes_to_the_installed_plugin(data: bytes) -> None:
    """The installed `protoc-gen-python-custom`: exit status 0, no traceback on stderr, a
    CodeGeneratorResponse on stdout."""
    assert "\n" not in plugin_process(data).error


# ---- 3. malformed options on a fixed schema --------------------------------------------------

TICKET_FILE = "acme/fuzz/v1/ticket.proto"
TICKET = "acme.fuzz.v1.Ticket"


def ticket_schema(
    field_options: dict[str, bytes] | None = None,
    operation: bytes | None = None,
    oneof_options: bytes = b"",
    strict: bool = False,
) -> plugin_pb2.CodeGeneratorRequest:
    """A small API: message Ticket with one field of each shape, and TicketService.Start
    returning an Operation; `field_options` adds raw option bytes by field name."""
    proto = descriptor_pb2.FileDescriptorProto(
        name=TICKET_FILE, package="acme.fuzz.v1", syntax="proto3"
    )
    proto.dependency.extend(f.name for f in base_files())
    ticket = proto.message_type.add(name="Ticket")
    shapes = [
        ("code", FDP.TYPE_STRING, "", False),
        ("amount", FDP.TYPE_INT64, "", False),
        ("ratio", FDP.TYPE_DOUBLE, "", False),
        ("enabled", FDP.TYPE_BOOL, "", False),
        ("payload", FDP.TYPE_BYTES, "", False),
        ("timeout", FDP.TYPE_MESSAGE, ".google.protobuf.Duration", False),
        ("tags", FDP.TYPE_STRING, "", True),
        ("kind", FDP.TYPE_ENUM, ".acme.fuzz.v1.Ticket.Kind", False),
    ]
    for number, (name, type_, type_name, repeated) in enumerate(shapes, 1):
        item = ticket.field.add(
            name=name, json_name=json_name(name), number=number, type=type_,
            label=FDP.LABEL_REPEATED if repeated else FDP.LABEL_OPTIONAL,
        )  # fmt: skip
        if type_name:
            item.type_name = type_name
    for number, (name, key) in enumerate(
        [
            ("labels", FDP.TYPE_STRING),
            ("counts", FDP.TYPE_INT64),
            ("flags", FDP.TYPE_BOOL),
        ],
        20,
    ):
        entry_name = name.capitalize() + "Entry"
        entry = ticket.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(
            name="key", json_name="key", number=1, label=FDP.LABEL_OPTIONAL, type=key
        )
        entry.field.add(
            name="value",
            json_name="value",
            number=2,
            label=FDP.LABEL_OPTIONAL,
            type=FDP.TYPE_STRING,
        )
        ticket.field.add(
            name=name, json_name=name, number=number, label=FDP.LABEL_REPEATED,
            type=FDP.TYPE_MESSAGE, type_name=f".{TICKET}.{entry_name}",
        )  # fmt: skip
    ticket.oneof_decl.add(name="target")
    for number, name in enumerate(["host", "port"], 30):
        ticket.field.add(
            name=name, json_name=name, number=number, label=FDP.LABEL_OPTIONAL,
            type=FDP.TYPE_STRING, oneof_index=0,
        )  # fmt: skip
    ticket.oneof_decl[0].options.MergeFromString(oneof_options)
    kind = ticket.enum_type.add(name="Kind")
    kind.value.add(name="KIND_UNSPECIFIED", number=0)
    metadata = proto.message_type.add(name="StartTicketMetadata")
    metadata.field.add(
        name="ticket_id",
        json_name="ticketId",
        number=1,
        type=FDP.TYPE_STRING,
        label=FDP.LABEL_OPTIONAL,
    )
    service = proto.service.add(name="TicketService")
    start = service.method.add(
        name="Start", input_type=f".{TICKET}", output_type=f".{OPERATION}"
    )
    start.options.MergeFromString(
        operation_bytes("StartTicketMetadata", "Ticket")
        if operation is None
        else operation
    )
    for name, data in (field_options or {}).items():
        next(f for f in ticket.field if f.name == name).options.MergeFromString(data)
    return plugin_pb2.CodeGeneratorRequest(
        file_to_generate=[TICKET_FILE],
        parameter="constraints=true" + (",strict=true" if strict else ""),
        proto_file=[*base_files(), proto],
    )


def test_the_fixed_schema_is_valid() -> None:
    assert not generate(ticket_schema()).error


START = "acme.fuzz.v1.TicketService.Start"
MALFORMED = [
    # field, option, value, what the error line must also say
    ("code", "length", "abc", "'abc'"),
    ("code", "length", "5-", "'5-'"),
    ("code", "length", "", "empty bound"),
    ("code", "length", "3-1", "empty range"),
    ("amount", "value", "5-", "'5-'"),
    ("amount", "value", "1.5", "'1.5'"),
    ("amount", "value", "1,x", "'x'"),
    ("ratio", "value", "abc", "'abc'"),
    ("ratio", "value", "<=1e400", "finite"),
    ("ratio", "value", "nan", "finite"),
    ("ratio", "value", "-inf-0", "finite"),
    ("timeout", "value", "5x", "'5x'"),
    ("timeout", "value", "1" + "0" * 400 + "h", "out of range"),
    ("enabled", "value", "1", "applies only to numbers"),
    ("kind", "value", "1", "applies only to numbers"),
    ("code", "pattern", "(", "regular expression"),
    ("code", "pattern", "[a-", "regular expression"),
    ("code", "pattern", "a{2,1}", "regular expression"),
    ("tags", "pattern", "*", "regular expression"),
    ("labels", "pattern", "(?P<1>x)", "regular expression"),
    ("amount", "pattern", "[a-z]*", "string and StringValue fields"),
    ("amount", "length", "5", "string, StringValue and bytes fields"),
    ("code", "size", "<=5", "repeated and map fields"),
    ("amount", "size", "1", "repeated and map fields"),
    ("tags", "size", "many", "'many'"),
    ("code", "unique", True, "repeated fields"),
    ("labels", "unique", True, "repeated fields"),
    ("code", "map_key", {"length": "1-5"}, "map fields"),
    ("tags", "map_key", {"pattern": "x"}, "map fields"),
    ("labels", "map_key", {"length": "abc"}, "'abc'"),
    ("labels", "map_key", {"pattern": "("}, "regular expression"),
    ("counts", "map_key", {"value": "abc"}, "'abc'"),
    ("flags", "map_key", {"value": "1"}, "applies only to number and string keys"),
    ("payload", "bytes", "lots", "'lots'"),
    ("enabled", "bytes", "<=5", "string, bytes and message fields"),
    ("kind", "bytes", "<=5", "string, bytes and message fields"),
    ("counts", "map_key", {"length": "1-5"}, "`length` applies only to string keys"),
    ("flags", "map_key", {"pattern": "x"}, "`pattern` applies only to string keys"),
]


@pytest.mark.parametrize(
    "field, option, value, detail",
    MALFORMED,
    ids=[f"{f}-{o}-{v!r}"[:40] for f, o, v, _ in MALFORMED],
)
def test_malformed_option_names_file_element_and_option(
    field: str, option: str, value: object, detail: str
) -> None:
    """A bad option value, or an option where it does not apply: a warning line naming the
    file, the field's full name, the option, and what is wrong, and the option is dropped;
    with strict=true, the same as one error line."""
    options = {field: option_bytes(option, value)}
    warnings: list[str] = []
    lenient = generate(ticket_schema(options), warnings)
    assert not lenient.error and lenient.file, lenient.error
    assert not output_problems(lenient)
    (warning,) = warnings
    error = generate(ticket_schema(options, strict=True), []).error
    assert warning == f"warning: {error}; the option is ignored"
    assert error.startswith(f"{TICKET_FILE}: {TICKET}.{field}: "), error
    assert f"option (yandex.cloud.{option})" in error, error
    assert detail in error and "\n" not in error, error


@pytest.mark.parametrize(
    "metadata, response, detail",
    [
        ("NoSuchMetadata", "Ticket", "'NoSuchMetadata'"),
        ("StartTicketMetadata", "NoSuchTicket", "'NoSuchTicket'"),
        ("StartTicketMetadata", "Ticket.Kind", "'Ticket.Kind'"),  # an enum
        ("StartTicketMetadata", "acme.fuzz.Ticket", "'acme.fuzz.Ticket'"),
        ("StartTicketMetadata", "", "`response` is empty"),
    ],
)
def test_operation_option_naming_a_missing_type(
    metadata: str, response: str, detail: str
) -> None:
    """`(yandex.cloud.api.operation)` naming no message: a warning naming the file, the method
    and the option, and the type is taken as google.protobuf.Any; with strict=true, an
    error."""
    operation = operation_bytes(metadata, response)
    warnings: list[str] = []
    lenient = generate(ticket_schema(operation=operation), warnings)
    assert not lenient.error and not output_problems(lenient)
    (warning,) = warnings
    assert warning.endswith("is taken as google.protobuf.Any"), warning
    answer = generate(ticket_schema(operation=operation, strict=True))
    assert warning.startswith(f"warning: {answer.error}; "), warning
    assert answer.error.startswith(f"{TICKET_FILE}: {START}: "), answer.error
    assert "option (yandex.cloud.api.operation)" in answer.error
    assert detail in answer.error and "\n" not in answer.error


def test_operation_without_metadata_is_valid() -> None:
    warnings: list[str] = []
    response = generate(
        ticket_schema(operation=operation_bytes("", "Ticket"), strict=True), warnings
    )
    assert not response.error and not warnings and not output_problems(response)


def plugin_process(data: bytes) -> plugin_pb2.CodeGeneratorResponse:
    result = subprocess.run(
        [str(BIN / "protoc-gen-python-custom")],
        input=data,
        capture_output=True,
        timeout=120,
    )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0 and "Traceback" not in stderr, stderr
    # Warnings and notes only, a line each (a request without the runtime's protos is noted).
    for line in stderr.splitlines():
        assert line.startswith(
            ("protoc-gen-python-custom: warning: ", "protoc-gen-python-custom: note: ")
        ), stderr
    return plugin_pb2.CodeGeneratorResponse.FromString(result.stdout)


@pytest.mark.parametrize(
    "number, wire_type, payload, option",
    [
        (101502, 0, b"\x05", "pattern"),  # as a varint
        (101505, 2, b"\xff\xfe", "length"),  # not UTF-8
        (101510, 0, b"\x01", "map_key"),  # as a varint
        (101510, 2, b"\x12\x05ab", "map_key"),  # a truncated MapKeySpec
        (101501, 2, b"x", "required"),  # length-delimited
    ],
)
def test_undecodable_option_bytes(
    number: int, wire_type: int, payload: bytes, option: str
) -> None:
    """Option bytes that protoc never writes: an error naming the file, the field and the
    option, which alone is lost. Sent to the plugin's own process, where the options are not
    parsed before the plugin decodes them (in this one, an imported validation_pb2 may already
    refuse them)."""
    key = number << 3 | wire_type
    garbage = varint(key) + (varint(len(payload)) if wire_type == 2 else b"") + payload
    # A stand-in of the same size, swapped for the garbage in the serialized request.
    placeholder = (
        varint(101599 << 3 | 2) + varint(len(garbage) - 4) + b"Z" * (len(garbage) - 4)
    )
    assert len(placeholder) == len(garbage)
    data = ticket_schema({"code": placeholder}, strict=True).SerializeToString()
    assert data.count(placeholder) == 1
    error = plugin_process(data.replace(placeholder, garbage)).error
    assert error.startswith(
        f"{TICKET_FILE}: {TICKET}.code: option (yandex.cloud.{option}): cannot decode: "
    ), error


def test_an_undecodable_option_costs_only_itself() -> None:
    """`required` written length-delimited beside a `length` that decodes: the warning names
    `required`, and the length rule still holds."""
    options = length_delimited(101501, b"x") + length_delimited(101505, b"<=3")
    warnings: list[str] = []
    response = generate(ticket_schema({"code": options}), warnings)
    assert warnings == [
        f"warning: {TICKET_FILE}: {TICKET}.code: option (yandex.cloud.required): "
        "cannot decode: expected a varint; the option is ignored"
    ]
    (server,) = [f for f in response.file if f.name == "acme/fuzz/v1/ticket_server.py"]
    assert "The maximum string length in characters is 3." in server.content


def test_undecodable_oneof_option() -> None:
    """`exactly_one` (a bool) written length-delimited."""
    request = ticket_schema(
        oneof_options=length_delimited(EXACTLY_ONE, b"x"), strict=True
    )
    error = generate(request).error
    assert error.startswith(
        f"{TICKET_FILE}: {TICKET}.target: option (yandex.cloud.exactly_one): cannot decode: "
    ), error


OPTION_TARGETS = {
    "length": "code", "pattern": "code", "value": "amount", "size": "tags", "bytes": "payload",
}  # fmt: skip
BOUND_PIECES = st.sampled_from(
    [
        "<",
        "<=",
        ">",
        ">=",
        "==",
        "-",
        ",",
        " ",
        "1",
        "0",
        "5",
        "99",
        "-3",
        ".",
        "e",
        "s",
        "ms",
        "h",
        "x",
    ]
)
OPTION_TEXT = st.one_of(st.text(), st.lists(BOUND_PIECES, max_size=6).map("".join))


@fuzz(ci=200, long=5000)
@given(
    option=st.sampled_from(sorted(OPTION_TARGETS) + ["map_key", "duration", "ratio"]),
    text=OPTION_TEXT,
)
def test_random_option_text_is_accepted_or_reported(option: str, text: str) -> None:
    """Any text as a validation option: generated code, or (strict=true) one error line
    naming the file, the field and the option. Accepted bounds render in the docs
    (constraints=true)."""
    if option == "map_key":
        field, name, value = "labels", "map_key", {"length": text}
    elif option == "duration":
        field, name, value = "timeout", "value", text
    elif option == "ratio":
        field, name, value = "ratio", "value", text
    else:
        field, name, value = OPTION_TARGETS[option], option, text
    assume("\x00" not in text)
    response = generate(ticket_schema({field: option_bytes(name, value)}, strict=True))
    if response.error:
        assert response.error.startswith(
            f"{TICKET_FILE}: {TICKET}.{field}: option (yandex.cloud.{name}): "
        )
        assert "\n" not in response.error and not response.file
        return
    problems = output_problems(response)
    assert not problems, "\n".join(problems)


def test_bytes_option_on_a_number_is_reported() -> None:
    """`(bytes)` measures strings, bytes and serialized messages; on a number the runtime
    could only fail (len() of an int), so the plugin drops it, saying so."""
    options = {"amount": option_bytes("bytes", "<=5")}
    error = generate(ticket_schema(options, strict=True)).error
    assert error == (
        f"{TICKET_FILE}: {TICKET}.amount: option (yandex.cloud.bytes): "
        "applies only to string, bytes and message fields"
    )


@pytest.mark.parametrize(
    "field, option, value",
    [
        ("timeout", "bytes", "<=64"),  # the serialized size of a message
        ("payload", "length", "<=8"),  # bytes of a bytes field
        ("timeout", "value", "1s-1h"),
    ],
)
def test_the_public_apis_usages_are_valid(field: str, option: str, value: str) -> None:
    warnings: list[str] = []
    request = ticket_schema({field: option_bytes(option, value)}, strict=True)
    response = generate(request, warnings)
    assert not response.error and not warnings and not output_problems(response)


# ---- bugs found by fuzzing -------------------------------------------------------------------


def _python_problems(request: plugin_pb2.CodeGeneratorRequest) -> list[str]:
    response = generate(request)
    assert not response.error, response.error
    return output_problems(response)


def test_keyword_field_in_client() -> None:
    """A request field named after a Python keyword (`from`) cannot be a keyword argument:
    the client passes it on as `**{"from": from_}`."""
    request = ticket_schema()
    ticket = request.proto_file[-1].message_type[0]
    ticket.field.add(
        name="from",
        json_name="from",
        number=99,
        type=FDP.TYPE_STRING,
        label=FDP.LABEL_OPTIONAL,
    )
    assert not _python_problems(request)


def test_service_without_rpcs() -> None:
    """A service without rpcs (legal proto): its servicer in the .pyi has a `...` body."""
    request = ticket_schema()
    request.proto_file[-1].service.add(name="IdleService")
    assert not _python_problems(request)


def _server_module(request: plugin_pb2.CodeGeneratorRequest) -> str:
    response = generate(request)
    assert not response.error, response.error
    return next(
        item.content for item in response.file if item.name.endswith("_server.py")
    )


def test_server_module_without_rules() -> None:
    """Empty brackets on one line, as black writes them: `RULES: ... = {}`."""
    server = _server_module(ticket_schema())
    assert "RULES: dict[str, _validation.MessageRules] = {}\n" in server
    assert black.format_str(server, mode=black.Mode()) == server


def test_field_with_only_the_rules_of_its_message_type() -> None:
    """Empty brackets on one line, as black writes them: `checks=()`."""
    request = ticket_schema()
    proto = request.proto_file[-1]
    text = proto.message_type.add(name="Note").field.add(
        name="text", json_name="text", number=1, type=FDP.TYPE_STRING,
        label=FDP.LABEL_OPTIONAL,
    )  # fmt: skip
    text.options.MergeFromString(option_bytes("length", "<=5"))
    proto.message_type[0].field.add(
        name="note", json_name="note", number=98, type=FDP.TYPE_MESSAGE,
        label=FDP.LABEL_OPTIONAL, type_name=".acme.fuzz.v1.Note",
    )  # fmt: skip
    server = _server_module(request)
    assert "checks=()," in server
    assert black.format_str(server, mode=black.Mode()) == server
