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
    "case, runner, raised, message",
    [
        # A GeneratorError in a worker is raised as it was.
        ("generator_error_in_a_worker", "order", "GeneratorError", "page is taken"),
        ("generator_error_in_a_worker", "objects", "GeneratorError", "page is taken"),
        # Anything else is a WorkerFailure naming it.
        ("bug_in_a_worker", "order", "WorkerFailure", "KeyError: 'missing'"),
        ("bug_in_a_worker", "objects", "WorkerFailure", "KeyError: 'missing'"),
        # An object pickle cannot carry is the worker's failure too.
        ("unpicklable_in_a_worker", "objects", "WorkerFailure", "pickle"),
        ("worker_dies", "order", "WorkerFailure", "ended before its last job"),
        ("worker_dies", "objects", "WorkerFailure", "ended before its last job"),
        # The worker reports SystemExit and ends, never returning into the code it was
        # forked from (run_case checks that one result is printed).
        ("worker_exits", "order", "WorkerFailure", "SystemExit"),
        ("worker_exits", "objects", "WorkerFailure", "SystemExit"),
    ],
)
def test_what_goes_wrong_in_a_worker_is_raised_in_the_parent(
    case: str, runner: str, raised: str, message: str
) -> None:
    result = run_case(case, runner)
    assert result["raised"] == raised
    assert message in str(result["message"])


@pytest.mark.parametrize("runner", ["order", "objects"])
def test_an_error_in_the_parent_leaves_no_worker_behind(runner: str) -> None:
    result = run_case("error_in_the_parent", runner)
    assert result["raised"] == "GeneratorError" and result["children_left"] == []


def test_results_come_back_in_order_each_from_its_own_process() -> None:
    result = run_case("results_in_order", "4")
    assert result["indexes"] == [0, 1, 2, 3]
    assert result["pids"][0] == result["pid"]  # the first job runs in the caller
    assert len(set(result["pids"])) == 4
    assert result["done"] == [f"meanwhile in {result['pid']}", "first job"]


def test_large_results_come_back_whole() -> None:
    assert run_case("large_results")["same"]


def test_meanwhile_runs_before_the_jobs_in_one_process() -> None:
    done: list[str] = []
    results: list[int] = []
    parallel.run_in_order(
        [lambda: done.append("job") or 1],
        2,
        results.append,
        meanwhile=lambda: done.append("meanwhile"),
        objects=True,
    )
    assert results == [1] and done == ["meanwhile", "job"]


@pytest.mark.parametrize("parts", [2, 3])
def test_the_model_built_in_parts_is_the_model_built_at_once(parts: int) -> None:
    """Problems included, in the same order; the answer is the same bytes."""
    result = run_case("model_in_parts", str(parts))
    assert result["forks"] == parts - 1
    assert result["problems"] > 0
    assert result["same"] and result["same_problems"] and result["same_response"]


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
