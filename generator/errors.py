"""Errors and warnings the plugin reports: errors through `CodeGeneratorResponse.error`,
warnings on stderr."""

from __future__ import annotations

from dataclasses import dataclass


class GeneratorError(Exception):
    """A problem with the plugin's input: protoc prints the message and exits non-zero."""


class OptionError(GeneratorError):
    """A bad `--python-custom_opt` value."""


def _location(file: str, element: str, option: str) -> str:
    where = f"{file}: {element}"
    return f"{where}: option ({option})" if option else where


class SchemaError(GeneratorError):
    """A schema or custom-option problem, located by file, element and option."""

    def __init__(self, file: str, element: str, message: str, option: str = "") -> None:
        super().__init__(f"{_location(file, element, option)}: {message}")


@dataclass(frozen=True)
class Problem:
    """A schema problem the plugin can go on after: an option that does not parse or cannot
    apply, or a type that resolves to nothing. `consequence` says what the plugin does instead
    (`the option is ignored`); with `strict=true` a problem is an error."""

    file: str
    element: str
    option: str
    message: str
    consequence: str

    @property
    def error(self) -> str:
        return f"{_location(self.file, self.element, self.option)}: {self.message}"

    @property
    def warning(self) -> str:
        return f"warning: {self.error}; {self.consequence}"


class ProblemsError(GeneratorError):
    """`strict=true` and problems in the files to generate: one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(problem.error for problem in problems))
        self.problems = problems
