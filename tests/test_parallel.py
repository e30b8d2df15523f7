"""The parallel runner: jobs in forked workers, their outputs back in job order. Each case runs
in an interpreter of its own (tests/parallel_cases.py): pytest's process has gRPC's threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import parallel

CASES = Path(__file__).with_name("parallel_cases.py")


def run_case(name: str, *arguments: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(CASES), name, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # one result: no worker printed one too
    found: dict[str, object] = json.loads(lines[0])
    return found


@pytest.mark.parametrize("processes", [1, 2, 3, 8])
def test_outputs_come_in_job_order(processes: int) -> None:
    result = run_case("in_order", str(processes))
    assert result["same"] is True
    assert result["processes"] == processes


def test_large_outputs_pass_whole() -> None:
    assert run_case("large_outputs")["same"] is True


@pytest.mark.parametrize(
    "case, raised, message",
    [
        # A GeneratorError in a worker is raised as it was.
        ("generator_error_in_a_worker", "GeneratorError", "its docs page is taken"),
        # Anything else is a WorkerFailure naming it.
        ("bug_in_a_worker", "WorkerFailure", "KeyError: 'missing'"),
        ("worker_dies", "WorkerFailure", "ended before its last job"),
        # The worker reports SystemExit and ends, never returning into the code it was
        # forked from (run_case checks that one result is printed).
        ("worker_exits", "WorkerFailure", "SystemExit"),
    ],
)
def test_what_goes_wrong_in_a_worker_is_raised_in_the_parent(
    case: str, raised: str, message: str
) -> None:
    result = run_case(case)
    assert result["raised"] == raised
    assert message in str(result["message"])


def test_an_error_in_the_parent_leaves_no_worker_behind() -> None:
    result = run_case("error_in_the_parent")
    assert result["raised"] == "GeneratorError" and result["children_left"] == []


def test_without_scratch_space_one_process_does_it_all() -> None:
    result = run_case("without_scratch_space")
    assert result["pids"] == [result["pid"]]


def test_a_process_with_another_thread_is_not_forked() -> None:
    """A fork copies only the calling thread: with another one running, no worker."""
    result = run_case("with_another_thread")
    assert result["pids"] == [result["pid"]]


def test_small_runs_stay_in_one_process() -> None:
    assert parallel.auto_processes(parallel.AUTO_MINIMUM_JOBS - 1) == 1
    assert 1 <= parallel.auto_processes(10_000) <= parallel.AUTO_LIMIT
