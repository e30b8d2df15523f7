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


def test_a_generator_error_in_a_worker_is_raised_as_it_was() -> None:
    result = run_case("generator_error_in_a_worker")
    assert result["raised"] == "GeneratorError"
    assert "its docs page is taken" in str(result["message"])


def test_a_bug_in_a_worker_is_a_worker_failure_naming_it() -> None:
    result = run_case("bug_in_a_worker")
    assert result["raised"] == "WorkerFailure"
    assert "KeyError: 'missing'" in str(result["message"])


def test_a_worker_that_dies_is_a_worker_failure() -> None:
    result = run_case("worker_dies")
    assert result["raised"] == "WorkerFailure"
    assert "ended before its last job" in str(result["message"])


def test_a_worker_that_exits_is_reported_not_continued() -> None:
    result = run_case("worker_exits")
    assert result["raised"] == "WorkerFailure"
    assert "SystemExit" in str(result["message"])


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
