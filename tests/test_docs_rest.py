"""Unit tests of the REST face's pieces: the YAML of the front matter (js-yaml's `dump`, §2.3)
and what a REST page makes of an rpc's HTTP rule (§4, §5), on the edge-case API."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from generator.docs_yaml import dump, scalar
from generator.plugin import generate
from support import PROTO, make_request, run_plugin
from test_docs_golden import DOCS_CASES, GARDEN_FILES


@pytest.mark.parametrize(
    "text, written",
    [
        ("string", "string"),
        (
            "https://h.{{ api-host }}/a/{id}:verb",
            "https://h.{{ api-host }}/a/{id}:verb",
        ),
        ("**string** (int64)", "'**string** (int64)'"),
        ("[a-z][a-z0-9]*", "'[a-z][a-z0-9]*'"),
        ("#/definitions/X", "'#/definitions/X'"),
        ("100", "'100'"),
        ("1.5", "'1.5'"),
        ("true", "'true'"),
        ("no", "'no'"),
        ("null", "'null'"),
        ("it's", "it's"),
        ("'quoted'", "'''quoted'''"),
        ("a: b", "'a: b'"),
        ("a #b", "'a #b'"),
        ("a#b", "a#b"),
        ("", "''"),
        ("tab\there", '"tab\\there"'),
    ],
)
def test_scalars_are_written_as_js_yaml_writes_them(text: str, written: str) -> None:
    assert scalar(text, 0) == written


def test_multi_line_strings_are_literal_blocks_with_their_chomping() -> None:
    assert scalar("a\nb", 2) == "|-\n    a\n    b"
    assert scalar("a\nb\n", 0) == "|\n  a\n  b"
    assert scalar("a\n\nb", 0) == "|-\n  a\n\n  b"


def test_mappings_and_sequences_are_block_style_with_indented_sequences() -> None:
    value = {"a": [{"b": None, "c": {}}, "d"], "e": {"f": False, "g": 63}, "h": []}
    assert dump(value) == (
        "a:\n  - b: null\n    c: {}\n  - d\ne:\n  f: false\n  g: 63\nh: []"
    )


@pytest.fixture(scope="module")
def rest_pages() -> dict[str, str]:
    options = f"targets=docs,docs_api=rest,docs_format=current,docs_config={DOCS_CASES / 'docs.toml'}"
    return run_plugin(make_request(GARDEN_FILES, options, roots=(DOCS_CASES, PROTO)))


FOLDER = "en/_api-ref/garden/v1/api-ref/Glasshouse"


def test_an_rpc_without_a_rule_has_no_rest_page_nor_index_row(
    rest_pages: dict[str, str],
) -> None:
    assert f"{FOLDER}/watch.md" not in rest_pages
    assert "[Watch]" not in rest_pages[f"{FOLDER}/index.md"]
    # A service without rules has no REST index.
    assert not any("/Plant/" in path for path in rest_pages)


def test_path_variables_take_json_names_and_nested_ones_stay(
    rest_pages: dict[str, str],
) -> None:
    get = rest_pages[f"{FOLDER}/get.md"]
    assert (
        "GET https://{{ api-host-glasshouse }}/garden/v1/sites/{siteId}/glasshouses/{glasshouseId}"
        in get
    )
    update = rest_pages[f"{FOLDER}/update.md"]
    assert (
        "PATCH https://{{ api-host-glasshouse }}/garden/v1/sites/{glasshouse.site_id}"
        "/glasshouses/{glasshouse.glasshouse_id}"
    ) in update
    # §5.2: a named body takes every field the path does not: the mask too.
    assert "    path: null\n    query: null\n    body:" in update
    assert '"updateMask": "string"' in update
    assert "## Path parameters" not in update


def test_linter_directives_leave_the_newline_before_them(
    rest_pages: dict[str, str],
) -> None:
    assert (
        "Returns the specified glasshouse.\n\n\n## HTTP request"
        in rest_pages[f"{FOLDER}/get.md"]
    )


def test_additional_bindings_repeat_the_request_with_suffixed_anchors(
    rest_pages: dict[str, str],
) -> None:
    page = rest_pages[f"{FOLDER}/ventilate.md"]
    assert page.count("## HTTP request") == 2
    assert ":air\n```" in page
    assert "{#acme.garden.v1.VentilationSettings2}" in page
    assert page.count("  - url: ") == 2


def test_an_operation_answering_empty_lists_error_alone(
    rest_pages: dict[str, str],
) -> None:
    classic = run_plugin(
        make_request(
            GARDEN_FILES,
            f"targets=docs,docs_api=rest,docs_config={DOCS_CASES / 'docs.toml'}",
            roots=(DOCS_CASES, PROTO),
        )
    )[f"{FOLDER}/heat.md"]
    assert "// Includes only one of the fields `error`\n" in classic
    assert '"response"' not in classic
    assert '"metadata": {\n    "glasshouseId": "string"\n  },' in classic
    current = rest_pages[f"{FOLDER}/heat.md"]
    assert '"metadata": "object",' in current and '"response": "object"' in current


def _thing_api(package: str) -> descriptor_pb2.FileDescriptorProto:
    """A file of `package` with ThingService.Get, bound to GET /things/{id}."""
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"{package.replace('.', '/')}/thing.proto",
        package=package,
        syntax="proto3",
    )
    request = proto.message_type.add(name="GetThingRequest")
    request.field.add(name="id", number=1, type=9, label=1, json_name="id")
    proto.message_type.add(name="Thing").field.add(
        name="id", number=1, type=9, label=1, json_name="id"
    )
    method = proto.service.add(name="ThingService").method.add(
        name="Get",
        input_type=f".{package}.GetThingRequest",
        output_type=f".{package}.Thing",
    )
    method.options.Extensions[annotations_pb2.http].get = "/things/{id}"
    return proto


@pytest.mark.parametrize(
    "faces, key", [("grpc", "source_path"), ("rest", "rest_source_path")]
)
def test_two_pages_written_to_one_path_are_an_error_naming_both(
    tmp_path: Path, faces: str, key: str
) -> None:
    config = tmp_path / "docs.toml"
    config.write_text(
        "".join(f'[packages."acme.{v}"]\n{key} = "en/shared"\n\n' for v in ("v1", "v2"))
    )
    files = [_thing_api("acme.v1"), _thing_api("acme.v2")]
    request = plugin_pb2.CodeGeneratorRequest(
        file_to_generate=[f.name for f in files],
        proto_file=files,
        parameter=f"targets=docs,docs_api={faces},docs_config={config}",
    )
    response = generate(request)
    assert "en/shared/Thing/" in response.error
    assert "acme.v1" in response.error and "acme.v2" in response.error
    assert not response.file
