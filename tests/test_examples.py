"""The example builder of the whole-API round trips (tests/examples.py): strings from regular
expressions within bounds, numbers within bounds, and requests that pass the generated server's
own validation (tests/protos/examples has a request with every kind of rule)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples import NoExample, RequestBuilder, number_example, string_example
from generator.model import build_api
from generator.rules import parse_bound, parse_duration, parse_int
from generator.runtime.contract import Bound
from generator.tree import generate_tree
from round_trips import Messages
from support import PROTO, TEST_PROTOS, compile_descriptors

SAMPLES = TEST_PROTOS / "examples"
SAMPLE_SERVICE = "acme/samples/v1/sample_service.proto"


def length(text: str) -> Bound:
    return parse_bound(text, parse_int).bound


@pytest.mark.parametrize(
    "pattern, bound",
    [
        ("[a-z][-a-z0-9]{1,61}[a-z0-9]", "<=63"),
        ("|[a-z]([-a-z0-9]{0,61}[a-z0-9])?", ""),
        ("([a-z][a-z0-9]{19})|", ""),
        ("3(0[1-9]|[1-9][0-9])", ""),
        ("eng|kaz|rus", "3"),
        (r"^[^\|/*?.,;\"'<>]+$", ""),
        (r"^jdbc:postgresql://(?:.+:\d+)/(?:.*)$", ""),
        (r"^jdbc:oracle:(?s:.*)$", ""),
        (r"(?i:ssl-client-cert|client-cert|)", ""),
        (r"[a-zA-Z0-9ЁёА-я]\S{1,61}[a-zA-Z0-9ЁёА-я]", ""),
        (r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$", ""),
        (
            r"(?:0|[1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-5])(?:[.](?:0|[1-9][0-9]?)){3}",
            "",
        ),
        (r"(ab|cd)-\1", ""),
        (r"(?=x)x[a-z]*", "4"),
        (r"[a-z]+", "3-5"),
        (r"[a-z]*", ">10"),
        (r"[a-z]*", "<3"),
        (r"[\t\x20-\x7E]*", "<=256"),
        (r"[KEg$lshzxeAtm]{0,13}", ""),
    ],
)
def test_strings_match_their_pattern_within_bounds(pattern: str, bound: str) -> None:
    limits = length(bound) if bound else None
    values = [string_example(pattern, limits, variant=v) for v in range(4)]
    for value in values:
        assert re.fullmatch(pattern, value), (pattern, value)
        assert value
        if limits:
            assert limits.admits(len(value)), (bound, value)
    if pattern not in ("eng|kaz|rus", "(?=x)x[a-z]*") and "{19}" not in pattern:
        assert len(set(values)) > 1, f"variants of {pattern!r} are all {values[0]!r}"


def test_strings_count_utf8_bytes_for_a_size_bound() -> None:
    value = string_example("[ё]+", size=length("4-6"))
    assert set(value) == {"ё"} and 4 <= len(value.encode()) <= 6


@pytest.mark.parametrize(
    "pattern, bound",
    [("[a-z]{10}", "<=5"), ("abc", "1-2"), ("", "<1")],
)
def test_impossible_strings_are_reported(pattern: str, bound: str) -> None:
    with pytest.raises(NoExample):
        string_example(pattern, length(bound))


@settings(deadline=None, max_examples=200)
@given(
    pattern=st.sampled_from(
        [
            "[a-z][-_0-9a-z]*",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            "[a-zA-Z0-9_][a-zA-Z0-9_@.-]*",
            "([*].)?[-.a-z0-9]+",
            "[a-z0-9]+(?:[._-][a-z0-9]+)*(/([a-z0-9]+(?:[._-][a-z0-9]+)*))*",
            "|(.{3,254})",
        ]
    ),
    low=st.integers(3, 60),
    extra=st.integers(0, 40),
    variant=st.integers(0, 50),
)
def test_any_satisfiable_length_gets_an_example(
    pattern: str, low: int, extra: int, variant: int
) -> None:
    bound = length(f"{low}-{low + extra}")
    value = string_example(pattern, bound, variant=variant)
    assert re.fullmatch(pattern, value) and bound.admits(len(value))


@pytest.mark.parametrize(
    "bound, scalar, nonzero, admitted",
    [
        (">100", "int64", False, lambda v: v > 100),
        ("<0", "double", False, lambda v: v < 0),
        ("0-0", "int32", False, lambda v: v == 0),
        ("0,7,9", "int64", True, lambda v: v in (7, 9)),
        (">=-3", "uint32", True, lambda v: v >= 1),
        ("<-9223372036854775807", "int64", False, lambda v: v == -(2**63)),
    ],
)
def test_numbers_within_bounds(
    bound: str, scalar: str, nonzero: bool, admitted: Any
) -> None:
    parse = float if scalar == "double" else parse_int
    parsed = parse_bound(bound, parse, allow_list=True).bound  # type: ignore[arg-type]
    for variant in range(3):
        value = number_example(parsed, scalar, variant, nonzero)
        assert admitted(value) and isinstance(
            value, float if scalar == "double" else int
        )


def test_durations_within_bounds_in_nanoseconds() -> None:
    bound = parse_bound("2m-1h", parse_duration).bound
    value = number_example(bound, "int64", start=10**9, step=10**9)
    assert 120 * 10**9 <= value <= 3600 * 10**9


def test_no_number_within_an_empty_range() -> None:
    with pytest.raises(NoExample):
        number_example(parse_bound(">4294967295", parse_int).bound, "uint32")


@pytest.fixture(scope="module")
def sample_rules(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The validation rules the generated server of tests/protos/examples checks."""
    out = tmp_path_factory.mktemp("samples") / "generated"
    generate_tree([SAMPLES, PROTO], out)
    sys.path.insert(0, str(out))
    try:
        from acme.samples.v1 import sample_service_server
        from yc_runtime.validation import Validator
    finally:
        sys.path.remove(str(out))
    return Validator(sample_service_server.RULES)


def test_built_requests_pass_the_servers_validation(sample_rules: Any) -> None:
    files = compile_descriptors([SAMPLE_SERVICE], roots=(SAMPLES, PROTO)).file
    api = build_api(files, [SAMPLE_SERVICE])
    assert not api.problems, api.problems
    messages = Messages(files)
    builder = RequestBuilder(api)
    optional = ["tags", "labels", "probes", "probes_by_slot", "note", "url"]
    requests = []
    for variant in range(3):
        request = messages.new("acme.samples.v1.TakeSampleRequest")
        builder.fill(request, include=optional, variant=variant)
        assert sample_rules.violations(request) == [], request
        requests.append(request)
    request = requests[0]
    for name in ["name", "code", "blob", "count", "ratio", "kind", "confirmed", "note"]:
        assert getattr(request, name), name
    assert request.WhichOneof("source") == "url"
    assert len(request.tags) == 3 and len(request.labels) == 2
    assert len(request.probes) == 2 and len(request.probes_by_slot) == 1
    assert request.main_probe.depth and request.timeout.seconds >= 120
    assert requests[0] != requests[1]

    minimal = messages.new("acme.samples.v1.TakeSampleRequest")
    builder.fill(minimal)
    assert minimal.WhichOneof("source") == "url"  # a scalar member first
    assert not minimal.tags and not minimal.note
    with_probe = messages.new("acme.samples.v1.TakeSampleRequest")
    builder.fill(with_probe, include=["probe"])
    assert with_probe.WhichOneof("source") == "probe" and with_probe.probe.depth
    for built in (minimal, with_probe):
        assert sample_rules.violations(built) == []

    name = request.name
    builder.set_field(request, "name", variant=7)
    assert request.name != name
    assert sample_rules.violations(request) == []


def test_unsatisfiable_rules_name_the_field(tmp_path: Path) -> None:
    proto = tmp_path / "acme" / "broken" / "v1" / "broken.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text(
        'syntax = "proto3";\npackage acme.broken.v1;\nimport "yandex/cloud/validation.proto";\n'
        "message Broken {\n"
        '  string code = 1 [(yandex.cloud.required) = true, (yandex.cloud.pattern) = "[a-z]{9}",'
        ' (yandex.cloud.length) = "<=3"];\n}\n'
    )
    name = "acme/broken/v1/broken.proto"
    files = compile_descriptors([name], roots=(tmp_path, PROTO)).file
    api = build_api(files, [name])
    request = Messages(files).new("acme.broken.v1.Broken")
    with pytest.raises(NoExample, match=r"acme\.broken\.v1\.Broken\.code"):
        RequestBuilder(api).fill(request)
