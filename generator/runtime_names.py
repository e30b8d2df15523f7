"""How generated code names the runtime that the plugin writes beside it (`generator/runtime`,
copied as `yc_runtime`): each module is imported as `_<module>`, the kinds and calls come from
`runtime.contract`, and every module checks the runtime's version when it is imported.

tests/runtime/test_contract.py reads generated code for every `_<module>.<name>` and checks
that the runtime defines it.
"""

from __future__ import annotations

import enum

from generator.layout import import_statement
from generator.python_names import python_literal
from generator.runtime import contract
from generator.runtime.contract import CONTRACT


def alias(module: str) -> str:
    """The name a generated module imports runtime `module` as."""
    return f"_{module}"


def imports(*modules: str) -> tuple[str, ...]:
    """The import statements of runtime `modules` (and of `contract`, for the version check)."""
    return tuple(
        import_statement(f"{contract.PACKAGE}.{module}", alias(module))
        for module in sorted({CONTRACT, *modules})
    )


def name(module: str, attribute: str) -> str:
    """`_module.attribute`."""
    return f"{alias(module)}.{attribute}"


def member(value: enum.Enum) -> str:
    """A member of one of the contract's enums, e.g. `_contract.MutationKind.CREATE`."""
    return name(CONTRACT, f"{type(value).__name__}.{value.name}")


def version_check() -> str:
    """The statement by which a generated module refuses a runtime of another version."""
    call = name(CONTRACT, "require_version")
    return f"{call}({python_literal(contract.VERSION)}, __name__)"
