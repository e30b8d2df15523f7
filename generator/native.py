"""The plugin's modules compiled to C extension modules with mypyc, used when they are current.

mypyc compiles type-annotated Python (the plugin's modules pass `mypy --strict`) to C: the same
source runs about a third faster (figures in `bench/ANALYSIS.md`). `python -m
generator.build_native` (`make native`, which `make generate` and `make test` run) builds every
module of the package but the few below into `generator/_compiled/`, with a manifest of the
sources it compiled. At import, `generator/__init__.py` puts that directory first on the
package's path only if every module's source is still the one compiled and the build is for
this interpreter: after any change to a module, the plain modules run until the next build,
never a stale compiled one. Without mypy or a C compiler there is no build, and the plain
modules run: the same bytes, slower.

`PROTOC_GEN_PYTHON_CUSTOM_PURE=1` runs the plain modules whatever is built.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
from functools import partial
from types import ModuleType
from typing import Any, Callable

COMPILED_DIRECTORY = "_compiled"
MANIFEST = "manifest.txt"
PURE = "PROTOC_GEN_PYTHON_CUSTOM_PURE"
# Plain always: the package's start and this module (they run before any compiled module
# could), the command's launcher (it starts the process again before the plugin imports
# anything) and `python -m generator`; and every module with a main block, which `python -m`
# runs from its source (`_RUN_AS_MAIN`). `runtime/` is a package of its own, copied into
# generated trees as plain Python.
_PLAIN = frozenset({"__init__.py", "__main__.py", "launch.py", "native.py"})
_RUN_AS_MAIN = b'\nif __name__ == "__main__":'
# One extension module holds every compiled module's code (they call each other directly);
# each module is a small one that imports it.
_GROUP = "compiled"


def compiled_path(package: str) -> list[str]:
    """The compiled modules' directory, to go first on the package's path (`package`: the
    package's directory), or none: when the plain modules are asked for, or the build is
    missing, for another interpreter, or of other sources."""
    if os.environ.get(PURE) or not _current(package):
        return []
    return [os.path.join(package, COMPILED_DIRECTORY)]


def _current(package: str) -> bool:
    """Whether the package's compiled build is of its sources, for this interpreter."""
    manifest = os.path.join(package, COMPILED_DIRECTORY, MANIFEST)
    try:
        with open(manifest, encoding="utf-8") as built:
            return built.read() == manifest_text(package)
    except (OSError, ValueError):
        return False


def manifest_text(package: str) -> str:
    """What the manifest of a current build for this interpreter says: the extension suffix,
    then a digest and a name for each module compiled."""
    lines = [sysconfig.get_config_var("EXT_SUFFIX") or ""]
    for name, source in _sources(package):
        lines.append(f"{hashlib.sha256(source).hexdigest()}  {name}")
    return "\n".join(lines) + "\n"


def compiled_sources(package: str) -> list[str]:
    return [name for name, _ in _sources(package)]


def _sources(package: str) -> list[tuple[str, bytes]]:
    """The modules to compile, by name, and their sources."""
    found = []
    for name in sorted(os.listdir(package)):
        if name.endswith(".py") and name not in _PLAIN:
            with open(os.path.join(package, name), "rb") as source:
                text = source.read()
            if _RUN_AS_MAIN not in text:
                found.append((name, text))
    return found


def pickle_by_arguments(*modules: ModuleType) -> None:
    """Has pickle rebuild the modules' compiled frozen dataclasses from their constructors'
    arguments: its default sets each attribute of the new instance, which a frozen dataclass
    refuses. Plain ones (whose instances have a `__dict__`) keep pickle's default, which is
    faster for them."""
    import copyreg
    import dataclasses
    from operator import attrgetter

    for module in modules:
        for value in list(vars(module).values()):
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and dataclasses.is_dataclass(value)
                and value.__dictoffset__ == 0
            ):
                names = [f.name for f in dataclasses.fields(value) if f.init]
                copyreg.pickle(
                    value, partial(_by_arguments, attrgetter(*names), len(names))
                )


def _by_arguments(
    arguments: Callable[[object], Any], count: int, instance: object
) -> tuple[type, tuple[object, ...]]:
    found = arguments(instance)
    return type(instance), (found,) if count == 1 else found


def build(package: str, parallel: int) -> bool:
    """Compiles the package's modules into its `_compiled` directory, unless a current build
    is there. False, having printed why, where it cannot (no mypy, no compiler): the plain
    modules then run."""
    directory = os.path.join(package, COMPILED_DIRECTORY)
    manifest = manifest_text(package)
    if _current(package):
        print(f"{directory}: up to date")
        return True
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution  # type: ignore[import-untyped]
    except ImportError as missing:
        print(f"not compiled ({missing}): the plain modules run")
        return False
    import shutil
    import tempfile

    root, name = os.path.split(os.path.abspath(package))
    with tempfile.TemporaryDirectory() as scratch:
        here = os.getcwd()
        os.chdir(root)  # mypyc names modules by their paths
        try:
            extensions = mypycify(
                [os.path.join(name, source) for source in compiled_sources(package)],
                group_name=f"{name}.{_GROUP}",
                target_dir=os.path.join(scratch, "c"),
            )
            command = Distribution(
                {"name": name, "ext_modules": extensions}
            ).get_command_obj("build_ext")
            command.build_lib = os.path.join(scratch, "lib")
            command.build_temp = os.path.join(scratch, "temp")
            command.parallel = parallel
            command.ensure_finalized()
            command.run()
        except (
            SystemExit,
            Exception,
        ) as error:  # mypy's errors exit; the compiler's raise
            print(
                f"not compiled ({type(error).__name__}: {error}): the plain modules run"
            )
            return False
        finally:
            os.chdir(here)
        if manifest_text(package) != manifest:
            print("not compiled: the sources changed during the build")
            return False
        shutil.rmtree(directory, ignore_errors=True)
        shutil.copytree(os.path.join(scratch, "lib", name), directory)
    with open(os.path.join(directory, MANIFEST), "w", encoding="utf-8") as written:
        written.write(manifest)
    print(f"{directory}: {len(compiled_sources(package))} modules compiled")
    return True
