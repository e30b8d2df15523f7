"""The command's start: with glibc's huge-page tunable where the kernel gives huge pages on
request only, once, and never against the caller's choice."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from generator import launch
from generator.launch import HUGE_PAGES, RELAUNCHED, TUNABLES, with_huge_pages
from generator.plugin import generate
from generator.runtime.contract import RUNTIME_PROTOS
from support import PROTO, make_request

GLIBC = (2, 36)


def test_huge_pages_are_asked_for_where_the_kernel_gives_them_on_request() -> None:
    environment = with_huge_pages({"PATH": "/bin"}, "madvise", GLIBC)
    assert environment == {
        "PATH": "/bin",
        TUNABLES: f"{HUGE_PAGES}=1",
        RELAUNCHED: "1",
    }


def test_the_callers_other_tunables_are_kept() -> None:
    environment = with_huge_pages(
        {TUNABLES: "glibc.malloc.arena_max=2"}, "madvise", GLIBC
    )
    assert environment is not None
    assert environment[TUNABLES] == f"glibc.malloc.arena_max=2:{HUGE_PAGES}=1"


@pytest.mark.parametrize(
    "tunables",
    [f"{HUGE_PAGES}=0", f"{HUGE_PAGES}=1", f"glibc.malloc.arena_max=2:{HUGE_PAGES}=0"],
)
def test_the_callers_choice_of_huge_pages_stands(tunables: str) -> None:
    assert with_huge_pages({TUNABLES: tunables}, "madvise", GLIBC) is None


def test_a_relaunched_command_does_not_start_again() -> None:
    assert with_huge_pages({RELAUNCHED: "1"}, "madvise", GLIBC) is None


@pytest.mark.parametrize(
    "thp_mode, glibc",
    [
        ("always", GLIBC),  # every large region gets huge pages already
        ("never", GLIBC),
        (None, GLIBC),  # not Linux, or no transparent huge pages
        ("madvise", (2, 34)),  # a glibc without the tunable
        ("madvise", None),  # not glibc
    ],
)
def test_the_command_runs_as_it_is_where_nothing_is_gained(
    thp_mode: str | None, glibc: tuple[int, int] | None
) -> None:
    assert with_huge_pages({}, thp_mode, glibc) is None


def test_this_machines_settings_are_read() -> None:
    mode, glibc = launch._thp_mode(), launch._glibc_version()
    if sys.platform.startswith("linux") and Path(launch.THP_SETTING).exists():
        assert mode in {"always", "madvise", "never"}
    # The standard library's own reading of the C library, by another way (the executable).
    library, version = platform.libc_ver()
    if library == "glibc":
        assert glibc == tuple(int(part) for part in version.split(".")[:2])
    else:
        assert glibc is None


def test_the_relaunched_command_answers_as_the_plugin_does() -> None:
    """The installed command, started again with the tunable where this machine gains from
    it: the same answer as `generate`, and the tunable in the process that answered."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in (TUNABLES, RELAUNCHED)
    }
    relaunched = with_huge_pages(
        environment, launch._thp_mode(), launch._glibc_version()
    )
    if relaunched is None:
        pytest.skip(
            "this machine gains nothing from huge pages on request (transparent huge "
            "pages not in `madvise` mode, or no glibc 2.35+): the command runs as it is"
        )
    request = make_request(
        ["yandex/cloud/baremetal/v1alpha/image_service.proto", *RUNTIME_PROTOS],
        f"docs_config={PROTO / 'docs.toml'}",
    )
    answer = subprocess.run(
        [str(Path(sys.executable).parent / "protoc-gen-python-custom")],
        input=request.SerializeToString(),
        capture_output=True,
        env=environment,
        timeout=120,
    )
    assert answer.returncode == 0 and not answer.stderr, answer.stderr
    assert answer.stdout == generate(request).SerializeToString()
    # The plugin replaced by a report of its environment: `-c` starts again as `-c`.
    report = (
        "import os, generator.plugin as plugin\n"
        "plugin.command = lambda: print(os.environ.get('GLIBC_TUNABLES'))\n"
        "from generator.launch import command\n"
        "command()\n"
    )
    seen = subprocess.run(
        [sys.executable, "-c", report],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )
    assert seen.stdout.strip() == relaunched[TUNABLES]


def test_a_system_without_confstr_has_no_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no `os.confstr`: the command runs as it is, without an error."""
    monkeypatch.delattr(os, "confstr")
    assert launch._glibc_version() is None
