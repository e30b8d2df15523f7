"""The `protoc-gen-python-custom` command's first step, before the plugin imports anything.

On a whole API the plugin builds a heap of a few hundred MB, touched a page of 4 KB at a time:
over 100,000 page faults, most of the kernel's tenth of the run's CPU. Where the kernel gives
transparent huge pages only to memory that asks for them (`madvise`, the usual default),
glibc's malloc asks when its `glibc.malloc.hugetlb=1` tunable is set; tunables are read when
a process starts, so the command starts itself again with it. On the whole public API's docs
that is about 40% fewer page faults and 4% less CPU, for one more interpreter start (about
15 ms); figures in `bench/ANALYSIS.md`.

A `glibc.malloc.hugetlb` the caller set is kept: `GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns
this off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

TUNABLES = "GLIBC_TUNABLES"
HUGE_PAGES = "glibc.malloc.hugetlb"
# Set in the started process, so that it never starts itself again: should glibc drop the
# tunable from the environment, the command would otherwise start itself forever.
RELAUNCHED = "PROTOC_GEN_PYTHON_CUSTOM_RELAUNCHED"
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"
FIRST_GLIBC_WITH_THE_TUNABLE = (2, 35)


def command() -> None:
    """The plugin, in a process started with huge pages where that helps."""
    environment = with_huge_pages(os.environ, _thp_mode(), _glibc_version())
    # Started again as this process was: the same interpreter options and script, `-m` or
    # `-c`; never when the code came from stdin, where the request is now.
    arguments = sys.orig_argv[1:]
    from_stdin = sys.argv[0] in ("", "-")
    if environment is not None and sys.executable and arguments and not from_stdin:
        try:
            os.execve(sys.executable, [sys.executable, *arguments], environment)
        except OSError:
            pass  # not startable again here: run as we are
    from generator.plugin import command as run_plugin

    run_plugin()


def with_huge_pages(
    environment: Mapping[str, str],
    thp_mode: str | None,
    glibc: tuple[int, int] | None,
) -> dict[str, str] | None:
    """The environment to start the plugin again in, or None to run as it is: when the
    kernel gives huge pages on request only, and this glibc has the tunable, and neither the
    caller nor an earlier start of the command chose already."""
    if thp_mode != "madvise" or glibc is None or glibc < FIRST_GLIBC_WITH_THE_TUNABLE:
        return None
    tunables = environment.get(TUNABLES, "")
    chosen = any(
        setting.partition("=")[0] == HUGE_PAGES for setting in tunables.split(":")
    )
    if chosen or RELAUNCHED in environment:
        return None
    setting = f"{HUGE_PAGES}=1"
    return {
        **environment,
        TUNABLES: f"{tunables}:{setting}" if tunables else setting,
        RELAUNCHED: "1",
    }


def _thp_mode() -> str | None:
    """The kernel's transparent huge page mode (`always`, `madvise` or `never`), if known."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(THP_SETTING, encoding="ascii") as setting:
            text = setting.read()
    except (OSError, ValueError):
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


def _glibc_version() -> tuple[int, int] | None:
    try:
        name, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
        major, minor = version.split(".")[:2]
        return (int(major), int(minor)) if name == "glibc" else None
    except (AttributeError, ValueError, OSError):
        return None  # not glibc (musl, macOS; Windows has no os.confstr)
