"""The parallel runner: jobs in forked workers, their outputs back in job order."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Callable

import pytest

from generator import parallel
from generator.errors import GeneratorError


def _job(index: int, pause: float = 0.0) -> Callable[[], bytes]:
    def job() -> bytes:
        time.sleep(pause)
        return f"<{index}:{os.getpid()}>".encode() * (index % 7)

    return job


def _run(jobs: list[Callable[[], bytes]], processes: int) -> list[bytes]:
    emitted: list[bytes] = []
    parallel.run_in_order(jobs, processes, emitted.append)
    return emitted


def _without_pids(outputs: list[bytes]) -> list[bytes]:
    return [
        b"".join(part.split(b":")[0] for part in output.split(b">"))
        for output in outputs
    ]


@pytest.mark.parametrize("processes", [1, 2, 3, 8])
def test_outputs_come_in_job_order(processes: int) -> None:
    # Uneven costs: some workers finish their share late, others early.
    jobs = [_job(index, 0.02 if index % 5 == 1 else 0.0) for index in range(23)]
    expected = [job() for job in jobs]
    emitted = _run(jobs, processes)
    assert _without_pids(emitted) == _without_pids(expected)


def test_jobs_run_in_several_processes() -> None:
    jobs = [_job(index) for index in range(1, 7)]
    pids = {
        part.split(b":")[1] for out in _run(jobs, 3) for part in out.split(b">")[:-1]
    }
    assert len(pids) == 3


def test_large_outputs_pass_whole() -> None:
    """Outputs far beyond a pipe's buffer, from each process."""
    jobs = [lambda index=index: bytes([index]) * (3 << 20) for index in range(4)]
    emitted = _run(jobs, 2)
    assert emitted == [bytes([index]) * (3 << 20) for index in range(4)]


def test_a_generator_error_in_a_worker_is_raised_as_it_was() -> None:
    def broken() -> bytes:
        raise GeneratorError("a.proto: Service.Method: its docs page is taken")

    jobs = [_job(0), broken, _job(2), _job(3)]
    with pytest.raises(GeneratorError, match="its docs page is taken"):
        _run(jobs, 2)


def test_a_bug_in_a_worker_is_a_worker_failure_naming_it() -> None:
    def buggy() -> bytes:
        raise KeyError("missing")

    with pytest.raises(parallel.WorkerFailure, match="KeyError: 'missing'"):
        _run([_job(0), buggy, _job(2)], 2)


def test_a_worker_that_dies_is_a_worker_failure() -> None:
    def dies() -> bytes:
        os._exit(3)

    with pytest.raises(parallel.WorkerFailure, match="ended before its last job"):
        _run([_job(0), _job(1), _job(2), dies], 2)


def test_an_error_in_the_parent_leaves_no_worker_behind() -> None:
    def broken() -> bytes:
        raise GeneratorError("in the parent")

    children_before = _children()
    with pytest.raises(GeneratorError, match="in the parent"):
        _run([broken, _job(1, 0.5), _job(2), _job(3, 0.5)], 2)
    assert _children() == children_before


def _children() -> set[int]:
    """This process's children that still exist (Linux /proc)."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(name))
    return found


def test_small_runs_stay_in_one_process() -> None:
    assert parallel.auto_processes(parallel.AUTO_MINIMUM_JOBS - 1) == 1
    assert 1 <= parallel.auto_processes(10_000) <= parallel.AUTO_LIMIT


def test_a_worker_that_exits_is_reported_not_continued() -> None:
    """SystemExit in a worker's job: the worker reports it and ends, never returning into the
    code it was forked from."""

    def leaves() -> bytes:
        raise SystemExit(0)

    with pytest.raises(parallel.WorkerFailure, match="SystemExit"):
        _run([_job(0), leaves, _job(2)], 2)


def test_without_scratch_space_one_process_does_it_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable() -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", unavailable)
    jobs = [_job(index) for index in range(1, 7)]
    pids = {
        part.split(b":")[1] for out in _run(jobs, 3) for part in out.split(b">")[:-1]
    }
    assert pids == {str(os.getpid()).encode()}
