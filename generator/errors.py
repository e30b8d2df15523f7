"""Errors the plugin reports to protoc through `CodeGeneratorResponse.error`."""


class GeneratorError(Exception):
    """A problem with the plugin's input: protoc prints the message and exits non-zero."""


class OptionError(GeneratorError):
    """A bad `--python-custom_opt` value."""


class SchemaError(GeneratorError):
    """A schema or custom-option problem, located by file, element and option."""

    def __init__(self, file: str, element: str, message: str, option: str = "") -> None:
        where = f"{file}: {element}"
        if option:
            where += f": option ({option})"
        super().__init__(f"{where}: {message}")
