"""Each rule of generator/layout.py against black itself: for names of every length around the
line limit, the layout computed is what black makes of it."""

from __future__ import annotations

from typing import Callable, Iterator

import black
import pytest

from generator.layout import (
    Brackets,
    Either,
    Expression,
    annotation,
    expression,
    import_statement,
    return_annotation,
    tuple_expression,
    width,
)
from generator.python_names import docstring


def name(length: int) -> str:
    """A dotted name `length` characters long, as generated code has them."""
    return "m_pb2." + "N" * (length - 6)


LENGTHS = range(7, 110)


def assert_black_agrees(sources: Iterator[str], pyi: bool = False) -> None:
    mode = black.Mode(is_pyi=pyi)
    for source in sources:
        assert black.format_str(source, mode=mode) == source


def nested(depth: int, line: str) -> str:
    """`line` as an argument inside `depth` exploded calls (indent 4 * depth); a statement at
    module level for depth 0."""
    lines = [f"{'    ' * level}f{level}(" for level in range(depth)]
    lines.append("    " * depth + line + ("," if depth else ""))
    lines += [
        "    " * level + ")" + ("," if level else "")
        for level in reversed(range(depth))
    ]
    return "\n".join(lines) + "\n"


def parameter_sources(
    build: Callable[[str], Expression], default: str | None
) -> Iterator[str]:
    after = f" = {default}" if default else ""
    for parameter in ("p", "request", "a_very_long_parameter_name_of_a_field"):
        for length in LENGTHS:
            value = build(name(length))
            text = annotation(value, 8, f"{parameter}: ", f"{after},")
            text = text.replace("\n", "\n        ")
            yield (
                "class C:\n"
                "    def f(\n"
                "        self,\n"
                f"        {parameter}: {text}{after},\n"
                "    ) -> None:\n"
                "        pass\n"
            )


ANNOTATIONS: dict[str, tuple[Callable[[str], Expression], str | None]] = {
    "optional": (lambda n: Either((n, "None")), "None"),
    "enum": (lambda n: Either((n, "str", "None")), "None"),
    "repeated": (lambda n: Either((Brackets("Iterable[", (n,), "]"), "None")), "None"),
    "repeated enum": (
        lambda n: Either((Brackets("Iterable[", (Either((n, "str")),), "]"), "None")),
        "None",
    ),
    "map": (
        lambda n: Either((Brackets("Mapping[", ("str", n), "]"), "None")),
        "None",
    ),
    "mask": (lambda n: Either((n, "Sequence[str]", "None")), "None"),
    "required": (lambda n: n, None),
    "stream": (lambda n: Brackets("Iterator[", (n,), "]"), None),
}


@pytest.mark.parametrize("kind", ANNOTATIONS)
def test_parameter_annotations(kind: str) -> None:
    build, default = ANNOTATIONS[kind]
    assert_black_agrees(parameter_sources(build, default))


RETURNS: dict[str, Callable[[str], Expression]] = {
    "message": lambda n: n,
    "stream": lambda n: Brackets("Iterator[", (n,), "]"),
    "optional": lambda n: Either((n, "None")),
}


@pytest.mark.parametrize("kind", RETURNS)
@pytest.mark.parametrize("pyi", [False, True], ids=["py", "pyi"])
def test_return_annotations(kind: str, pyi: bool) -> None:
    after = ": ..." if pyi else ":"
    body = "" if pyi else "\n        pass"

    def sources() -> Iterator[str]:
        for length in LENGTHS:
            text = return_annotation(RETURNS[kind](name(length)), 4, after)
            text = text.replace("\n", "\n    ")
            yield (
                "class C:\n"
                "    def f(\n"
                "        self,\n"
                f"    ) -> {text}{after}{body}\n"
            )

    assert_black_agrees(sources(), pyi)


def bound(values: list[str]) -> Brackets:
    return Brackets("_validation.Bound(", tuple(values), ")")


ARGUMENTS: dict[str, Callable[[int], Brackets]] = {
    "low and high": lambda n: bound([f"low={'1' * n}", f"high={'9' * n}"]),
    "one bound": lambda n: bound([f"low={'1' * n}"]),
    "allowed, nested": lambda n: bound(
        [Brackets("allowed=(", tuple(str(10**i) for i in range(n // 4 + 1)), ")")]  # type: ignore[list-item]
    ),
    "one allowed": lambda n: bound(
        [Brackets("allowed=(", (f'"{"x" * n}"',), ")", True)]  # type: ignore[list-item]
    ),
    "allowed and high": lambda n: bound(
        [
            Brackets("allowed=(", tuple(f'"{i}"' for i in range(n // 5 + 1)), ")"),  # type: ignore[list-item]
            "high=3",
        ]
    ),
    "subscript": lambda n: Brackets("_service.ResourceService[", (name(n),), "]"),
}


@pytest.mark.parametrize("kind", ARGUMENTS)
@pytest.mark.parametrize("depth", [1, 3, 6])
def test_arguments(kind: str, depth: int) -> None:
    def sources() -> Iterator[str]:
        for length in LENGTHS:
            text = expression(ARGUMENTS[kind](length), 4 * depth, "bound=", ",")
            yield nested(depth, "bound=" + text.replace("\n", "\n" + "    " * depth))

    assert_black_agrees(sources())


@pytest.mark.parametrize(
    "before, indent",
    [
        ("ALLOWED_PATHS: Final = ", 4),
        ("MUTATIONS = ", 4),
        ("SERVICES: tuple[server.ServiceFactory, ...] = ", 0),
        ("copy_fields=", 4),
        ("", 16),
    ],
)
@pytest.mark.parametrize("count", [1, 2, 5])
def test_tuples(before: str, indent: int, count: int) -> None:
    def sources() -> Iterator[str]:
        for length in LENGTHS:
            items = [f'"{chr(97 + i) * length}"' for i in range(count)]
            statement = before.endswith("= ")  # in a class when indented
            text = tuple_expression(items, indent, before, "" if statement else ",")
            line = before + text.replace("\n", "\n" + " " * indent)
            if statement:
                prefix = "class C:\n" if indent else ""
                yield prefix + " " * indent + line + "\n"
            else:
                yield nested(indent // 4, line)

    assert_black_agrees(sources())


def test_string_tuples_on_one_line() -> None:
    def sources() -> Iterator[str]:
        for count in range(1, 40):
            items = tuple(f'"id-{index:0{count % 7 + 1}}"' for index in range(count))
            value = Brackets("(", items, ")", one_tuple=count == 1)
            before = "ENDPOINT_IDS: tuple[str, ...] = "
            yield before + expression(value, 0, before) + "\n"

    assert_black_agrees(sources())


def test_imports() -> None:
    def sources() -> Iterator[str]:
        for length in LENGTHS:
            module = "yandex.cloud." + "p" * length + ".service_pb2"
            for alias in ("service_pb2", "v1_service_pb2", "a" * length):
                yield import_statement(module, alias) + "\n"
            yield import_statement("top" + "x" * length, "top" + "x" * length) + "\n"

    assert_black_agrees(sources())


def test_width_counts_wide_characters_twice() -> None:
    assert width("abc") == 3
    assert width("имя") == 3
    assert width("名前") == 4


@pytest.mark.parametrize("ending", ["x", '"', '"""', "\\"])
def test_docstrings_at_every_length_of_the_last_line(ending: str) -> None:
    """The padding of a last character that is a quote, and the closing quotes' own line,
    where black puts them: for every length of the last line around the limit."""
    sources = []
    for length in range(70, 92):
        comment = f"First line.\n\n{'w' * (length - len(ending))}{ending}"
        literal = docstring(comment, " " * 4)
        sources.append(f"def f() -> None:\n    {literal}\n")
    assert_black_agrees(iter(sources))
