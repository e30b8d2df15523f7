"""Hypothesis settings of the fuzz tests: a bounded run in `make test`, a long one in `make fuzz`.

    HYPOTHESIS_PROFILE=long pytest tests/fuzz     # what `make fuzz` runs

Two profiles are registered, `fuzz-ci` (the default) and `fuzz-long`; HYPOTHESIS_PROFILE picks
one by its short name (`ci` or `long`). They are applied per test with `@fuzz(ci=N, long=M)`
rather than loaded globally, so other hypothesis tests in the session keep their own settings
(and hypothesis' built-in `ci` profile, which CI=true activates, is left alone).

Every failure prints what reproduces it: the falsifying example, `@reproduce_failure` and the
blob (`print_blob=True`). The ci profile is derandomized on CI, so a CI run is repeatable.
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

from hypothesis import HealthCheck, settings

F = TypeVar("F", bound=Callable[..., Any])

_SHARED: dict[str, Any] = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
}
settings.register_profile(
    "fuzz-ci", max_examples=20, derandomize=bool(os.environ.get("CI")), **_SHARED
)
settings.register_profile("fuzz-long", max_examples=1000, **_SHARED)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci").removeprefix("fuzz-")
if PROFILE not in ("ci", "long"):
    raise RuntimeError(f"HYPOTHESIS_PROFILE={PROFILE!r}: use 'ci' (default) or 'long'")
LONG = PROFILE == "long"


def fuzz(ci: int, long: int, **overrides: Any) -> Callable[[F], F]:
    """The settings of the active profile with this test's number of examples."""
    return settings(
        settings.get_profile(f"fuzz-{PROFILE}"),
        max_examples=long if LONG else ci,
        **overrides,
    )
