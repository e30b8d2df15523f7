"""Black is the oracle, not the engine: on the whole public API, the generated Python is what
black makes of it, although generation runs black on no file.

The API comes from the SDK wheel's descriptors (everywhere) and from the corpus (where ../shared
is present). Black checks a sample: the files with the longest names, those with the widest
lines of code, and a fixed random sample of the rest.
"""

from __future__ import annotations

import difflib
import random
import re
from dataclasses import dataclass

import black
import pytest

from generator.plugin import generate
from generator.runtime.contract import PACKAGE as RUNTIME_PACKAGE
from whole_api import Unavailable, load_corpus, load_sdk

TARGETS = "targets=server+client+fieldmask"
EACH_RULE = 20  # files picked by each rule
_NAME = re.compile(r"[A-Za-z_][\w.]*")
_DOCSTRING = re.compile(r'^ *"""(?:[^"\\]|\\.|"(?!""))*"""', re.MULTILINE)


@dataclass(frozen=True)
class Generated:
    python: dict[str, str]  # the plugin's Python outputs, by name
    reformatted: list[str]  # those black had to reformat


@pytest.fixture(scope="module", params=["sdk", "corpus"])
def whole_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generated:
    try:
        if request.param == "sdk":
            source = load_sdk()
        else:
            source = load_corpus(tmp_path_factory.mktemp("corpus"))
    except Unavailable as reason:
        if request.param == "sdk":  # `make test` installs it: this test runs everywhere
            pytest.fail(str(reason))
        pytest.skip(str(reason))
    plugin_request = source.request(source.api_files, TARGETS)
    reformatted: list[str] = []
    response = generate(plugin_request, reformatted=reformatted)
    assert not response.error, response.error
    python = {
        item.name: item.content
        for item in response.file
        if item.name.endswith((".py", ".pyi"))
        and not item.name.startswith(f"{RUNTIME_PACKAGE}/")
    }
    return Generated(python, reformatted)


def longest_name(source: str) -> int:
    return max(map(len, _NAME.findall(source)), default=0)


def widest_code_line(source: str) -> int:
    code = _DOCSTRING.sub("", source)
    return max(map(len, code.split("\n")))


def sample(python: dict[str, str]) -> list[str]:
    """The files with the longest names, those with the widest lines of code, and as many
    again at random (a fixed seed), each file once."""
    chosen: dict[str, None] = {}
    for measure in (longest_name, widest_code_line):
        ranked = sorted(python, key=lambda name: (-measure(python[name]), name))
        chosen.update(dict.fromkeys(ranked[:EACH_RULE]))
    rest = sorted(set(python) - set(chosen))
    chosen.update(dict.fromkeys(random.Random(9).sample(rest, 2 * EACH_RULE)))
    return list(chosen)


def test_generation_runs_black_on_no_file(whole_api: Generated) -> None:
    assert len(whole_api.python) > 1000
    assert whole_api.reformatted == []


def test_black_leaves_a_sample_as_it_is(whole_api: Generated) -> None:
    differences = []
    for name in sample(whole_api.python):
        source = whole_api.python[name]
        formatted = black.format_str(source, mode=black.Mode(is_pyi=name.endswith("i")))
        if formatted != source:
            diff = difflib.unified_diff(
                source.splitlines(), formatted.splitlines(), name, "black", n=1
            )
            differences.append("\n".join(list(diff)[:30]))
    assert not differences, "\n\n".join(differences)


def test_the_sample_has_the_longest_names(whole_api: Generated) -> None:
    python = whole_api.python
    picked = sample(python)
    assert len(picked) >= 3 * EACH_RULE
    assert max(longest_name(python[name]) for name in picked) == max(
        map(longest_name, python.values())
    )
