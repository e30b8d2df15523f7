"""HTTP rules (generator/http.py): templates, bindings and field placement as
`google/api/http.proto` specifies them (its examples below), and the problems of bad rules.
"""

from __future__ import annotations

import pytest
from google.api import http_pb2

from generator import http
from generator.http import (
    HttpBinding,
    HttpRule,
    HttpRuleError,
    PathTemplate,
    PathVariable,
    Placement,
    parse_rule,
    parse_template,
)
from generator.model import build_api
from support import PROTO, TEST_PROTOS, compile_descriptors, varint


def rule(**fields: object) -> bytes:
    return http_pb2.HttpRule(**fields).SerializeToString()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, segments, verb",
    [
        (
            "/v1/messages/{message_id}",
            ("v1", "messages", PathVariable(("message_id",))),
            "",
        ),
        ("/v1/{name=messages/*}", ("v1", PathVariable(("name",), "messages/*")), ""),
        (
            "/v1/messages/{message_id}/{sub.subfield}",
            (
                "v1",
                "messages",
                PathVariable(("message_id",)),
                PathVariable(("sub", "subfield")),
            ),
            "",
        ),
        ("/v1/{name=**}", ("v1", PathVariable(("name",), "**")), ""),
        ("/v1/*/items/**", ("v1", "*", "items", "**"), ""),
        (
            "/kms/v1/keys/{key_id}:rotate",
            ("kms", "v1", "keys", PathVariable(("key_id",))),
            "rotate",
        ),
        (
            "/v1/subnets/{subnet_id}:add-cidr-blocks",
            ("v1", "subnets", PathVariable(("subnet_id",))),
            "add-cidr-blocks",
        ),
        (
            "/certificate-manager/v1/certificates:getEx",
            ("certificate-manager", "v1", "certificates"),
            "getEx",
        ),
    ],
)
def test_templates_parse_by_the_grammar(
    text: str, segments: tuple[object, ...], verb: str
) -> None:
    template = parse_template(text)
    assert (template.text, template.segments, template.verb) == (text, segments, verb)


@pytest.mark.parametrize(
    "text, why",
    [
        ("v1/messages", "does not start with '/'"),
        ("/v1/{message_id", "unbalanced braces"),
        ("/v1//messages", "an empty segment"),
        ("/v1/{message-id}", "bad field path 'message-id'"),
        ("/v1/{a={b}}", "a variable inside a variable"),
        ("/v1/messages:", "bad verb ''"),
        ("/v1/mess{ages}", "bad segment 'mess{ages}'"),
    ],
)
def test_bad_templates_say_why(text: str, why: str) -> None:
    with pytest.raises(HttpRuleError, match=why.replace("(", r"\(")):
        parse_template(text)


def test_a_rule_with_every_part() -> None:
    parsed = parse_rule(
        rule(
            patch="/v1/messages/{message_id}",
            body="message",
            response_body="result",
            additional_bindings=[
                http_pb2.HttpRule(get="/v1/users/{user_id}/messages/{message_id}"),
                http_pb2.HttpRule(
                    custom=http_pb2.CustomHttpPattern(kind="HEAD", path="/v1/m")
                ),
            ],
        )
    )
    assert parsed.binding.method == "PATCH"
    assert parsed.binding.body == "message"
    assert parsed.binding.response_body == "result"
    # Repeated bindings stay apart (a generic merge of the option would collapse them).
    assert [b.method for b in parsed.bindings] == ["PATCH", "GET", "HEAD"]
    assert [v.field for v in parsed.additional[0].path.variables] == [
        "user_id",
        "message_id",
    ]


@pytest.mark.parametrize(
    "raw, why",
    [
        (rule(body="*"), "no HTTP method"),
        (
            rule(custom=http_pb2.CustomHttpPattern(path="/v1")),
            "a custom pattern without a kind",
        ),
        (
            rule(
                get="/v1/a",
                additional_bindings=[
                    http_pb2.HttpRule(
                        get="/v2/a",
                        additional_bindings=[http_pb2.HttpRule(get="/v3/a")],
                    )
                ],
            ),
            "additional_bindings[0] has additional_bindings of its own",
        ),
        (
            rule(get="/v1/a", additional_bindings=[http_pb2.HttpRule(get="v2")]),
            "additional_bindings[0]: path 'v2' does not start with '/'",
        ),
        (b"\x0a\x05ab", "cannot decode"),
    ],
)
def test_bad_rules_say_why(raw: bytes, why: str) -> None:
    with pytest.raises(HttpRuleError) as error:
        parse_rule(raw)
    assert why in str(error.value)


FIELDS = ("message_id", "revision", "sub", "message", "labels")


@pytest.mark.parametrize(
    "binding, expected",
    [
        # No body: every field the path does not take goes to the query.
        (
            HttpBinding("GET", parse_template("/v1/messages/{message_id}")),
            Placement(("message_id",), (), ("revision", "sub", "message", "labels")),
        ),
        # body "*": every field the path does not take goes to the body.
        (
            HttpBinding("PATCH", parse_template("/v1/messages/{message_id}"), "*"),
            Placement(("message_id",), ("revision", "sub", "message", "labels"), ()),
        ),
        # A named body: that field is the body, the rest the query.
        (
            HttpBinding(
                "PATCH", parse_template("/v1/messages/{message_id}"), "message"
            ),
            Placement(("message_id",), ("message",), ("revision", "sub", "labels")),
        ),
        # A nested variable takes one field out of its message, which stays in the query.
        (
            HttpBinding("GET", parse_template("/v1/{message_id}/{sub.subfield}")),
            Placement(("message_id", "sub"), (), ("revision", "message", "labels")),
        ),
    ],
)
def test_fields_go_to_path_body_and_query(
    binding: HttpBinding, expected: Placement
) -> None:
    assert binding.placement(FIELDS) == expected


def test_option_bytes_join_occurrences_and_skip_other_options() -> None:
    first = rule(get="/v1/a")
    second = rule(body="*")
    key = varint(http.HTTP_EXTENSION << 3 | 2)
    options = (
        b"\x08\x01"  # field 1 (varint), another option
        + key
        + varint(len(first))
        + first
        + key
        + varint(len(second))
        + second
    )
    data = http.option_bytes(options)
    assert data is not None
    assert parse_rule(data) == HttpRule(
        HttpBinding("GET", PathTemplate("/v1/a", ("v1", "a")), "*")
    )
    assert http.option_bytes(b"\x08\x01") is None
    assert http.option_bytes(b"") is None


def test_the_model_reads_rules_and_drops_bad_ones_with_a_warning() -> None:
    files = ["bad_http.proto"]
    descriptors = compile_descriptors(files, roots=(TEST_PROTOS / "errors", PROTO)).file
    api = build_api(descriptors, files)
    service = api.service("acme.errors.v1.NoteService")
    assert service is not None
    rules = {method.name: method.http for method in service.methods}
    get = rules.pop("Get")
    assert get is not None and get.binding.path.variables == (
        PathVariable(("note_id",)),
    )
    assert all(dropped is None for dropped in rules.values())
    element = "bad_http.proto: acme.errors.v1.NoteService"
    assert [problem.warning for problem in api.problems] == [
        f"warning: {element}.NoSlash: option (google.api.http): path 'notes/{{note_id}}' "
        "does not start with '/'; the rpc gets no HTTP rule",
        f"warning: {element}.NestedAdditional: option (google.api.http): "
        "additional_bindings[0] has additional_bindings of its own (only the top-level "
        "rule may have them); the rpc gets no HTTP rule",
        f"warning: {element}.UnknownVariable: option (google.api.http): path variable "
        "{noteId}: acme.errors.v1.GetNoteRequest has no field 'noteId'; the rpc gets no "
        "HTTP rule",
        f"warning: {element}.MessageVariable: option (google.api.http): path variable "
        "{body}: acme.errors.v1.GetNoteRequest.body is a message; the rpc gets no HTTP rule",
        f"warning: {element}.RepeatedVariable: option (google.api.http): path variable "
        "{tags}: acme.errors.v1.GetNoteRequest.tags is repeated or a map; the rpc gets no "
        "HTTP rule",
        f"warning: {element}.UnknownBody: option (google.api.http): body 'note': "
        "acme.errors.v1.GetNoteRequest has no field 'note'; the rpc gets no HTTP rule",
        f"warning: {element}.UnknownResponseBody: option (google.api.http): response_body "
        "'text': acme.errors.v1.Note has no field 'text'; the rpc gets no HTTP rule",
    ]
