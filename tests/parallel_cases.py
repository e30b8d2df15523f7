"""Cases of the parallel runner, each run by tests/test_parallel.py in an interpreter of its own:
the runner forks only a process with one thread, and pytest's has gRPC's threads by then.

    python tests/parallel_cases.py CASE [ARGUMENT]   # prints the case's result as JSON
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from typing import Callable

from generator import parallel
from generator.errors import GeneratorError

Result = dict[str, object]
CASES: dict[str, Callable[..., Result]] = {}


def case(function: Callable[..., Result]) -> Callable[..., Result]:
    CASES[function.__name__] = function
    return function


def _job(index: int, pause: float = 0.0) -> Callable[[], bytes]:
    """Output `<index:pid>` repeated a few times (none for some), after `pause` seconds."""

    def job() -> bytes:
        time.sleep(pause)
        return f"<{index}:{os.getpid()}>".encode() * (index % 7)

    return job


def _run(jobs: list[Callable[[], bytes]], processes: int) -> list[bytes]:
    emitted: list[bytes] = []
    parallel.run_in_order(jobs, processes, emitted.append)
    return emitted


def _pids(outputs: list[bytes]) -> list[int]:
    found = {part.split(b":")[1] for out in outputs for part in out.split(b">")[:-1]}
    return sorted(int(pid) for pid in found)


def _without_pids(outputs: list[bytes]) -> list[str]:
    return [
        "".join(part.split(":")[0] for part in output.decode().split(">"))
        for output in outputs
    ]


@case
def in_order(processes: str) -> Result:
    # Uneven costs: some workers finish their share late, others early.
    jobs = [_job(index, 0.02 if index % 5 == 1 else 0.0) for index in range(23)]
    expected = [job() for job in jobs]
    with tempfile.TemporaryFile(
        "a+b"
    ) as record:  # which process ran each job (some print none)

        def recorded(job: Callable[[], bytes]) -> Callable[[], bytes]:
            def run() -> bytes:
                os.write(record.fileno(), f"{os.getpid()}\n".encode())
                return job()

            return run

        emitted = _run([recorded(job) for job in jobs], int(processes))
        record.seek(0)
        ran = set(record.read().split())
    return {
        "same": _without_pids(emitted) == _without_pids(expected),
        "processes": len(ran),
    }


@case
def large_outputs() -> Result:
    """Outputs far beyond a pipe's buffer, from each process."""
    jobs = [lambda index=index: bytes([index]) * (3 << 20) for index in range(4)]
    return {"same": _run(jobs, 2) == [bytes([i]) * (3 << 20) for i in range(4)]}


def _raises(jobs: list[Callable[[], object]], runner: str) -> Result:
    """What running the jobs raises, with `run_in_order` for bytes ("order") or for objects
    ("objects")."""
    try:
        parallel.run_in_order(jobs, 2, lambda output: None, objects=runner == "objects")
    except (GeneratorError, parallel.WorkerFailure) as error:
        return {"raised": type(error).__name__, "message": str(error)}
    return {"raised": None}


@case
def generator_error_in_a_worker(runner: str = "order") -> Result:
    def broken() -> bytes:
        raise GeneratorError("a.proto: Service.Method: its docs page is taken")

    return _raises([_job(0), broken, _job(2), _job(3)], runner)


@case
def bug_in_a_worker(runner: str = "order") -> Result:
    def buggy() -> bytes:
        raise KeyError("missing")

    return _raises([_job(0), buggy, _job(2)], runner)


@case
def worker_dies(runner: str = "order") -> Result:
    def dies() -> bytes:
        os._exit(3)

    # The second job is the first worker's first (see parallel._Claims).
    return _raises([_job(0), dies, _job(2), _job(3)], runner)


@case
def worker_exits(runner: str = "order") -> Result:
    """SystemExit in a worker's job: the worker reports it and ends, never returning into the
    code it was forked from (which would print a second result)."""

    def leaves() -> bytes:
        raise SystemExit(0)

    return _raises([_job(0), leaves, _job(2)], runner)


@case
def unpicklable_in_a_worker(runner: str = "objects") -> Result:
    return _raises([_job(0), lambda: (lambda: None), _job(2)], runner)


@case
def error_in_the_parent(runner: str = "order") -> Result:
    def broken() -> bytes:
        raise GeneratorError("in the parent")

    result = _raises([broken, _job(1, 0.5), _job(2), _job(3, 0.5)], runner)
    return {**result, "children_left": _children()}


def _children() -> list[int]:
    """This process's children that still exist (Linux /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == os.getpid():
                found.append(int(name))
    return found


@case
def results_in_order(tasks: str) -> Result:
    """Objects: each job's result in order, the first job run here; `meanwhile` once, here,
    before it."""
    done: list[str] = []

    def first() -> tuple[int, int]:
        done.append("first job")
        return 0, os.getpid()

    def meanwhile() -> None:
        done.append(f"meanwhile in {os.getpid()}")

    results: list[tuple[int, int]] = []
    parallel.run_in_order(
        [
            first,
            *(
                lambda index=index: (index, os.getpid())
                for index in range(1, int(tasks))
            ),
        ],
        int(tasks),
        results.append,
        meanwhile=meanwhile,
        objects=True,
    )
    return {
        "indexes": [index for index, _ in results],
        "pids": [pid for _, pid in results],
        "done": done,
    }


@case
def large_results() -> Result:
    """Objects far beyond a pipe's buffer, from three workers and this process."""
    tasks = [
        lambda index=index: [bytes([index, n % 256]) * 512 for n in range(3 << 10)]
        for index in range(8)
    ]
    results: list[object] = []
    parallel.run_in_order(tasks, 4, results.append, objects=True)
    return {"same": results == [task() for task in tasks]}


@case
def model_in_parts(parts: str) -> Result:
    """The model built in parts, in forked processes, against the model built in one: the
    image API and the schemas with problems, problems and all."""
    from google.protobuf.compiler import plugin_pb2

    from generator.model import build_api
    from generator.plugin import generate
    from support import PROTO, TEST_PROTOS, compile_descriptors, proto_files

    errors = TEST_PROTOS / "errors"
    # Schemas with problems that can share a run (others declare the same messages).
    with_problems = [
        "bad_length.proto",
        "bad_pattern.proto",
        "unresolved_metadata.proto",
        "bad_http.proto",
    ]
    files = proto_files(PROTO) + with_problems
    descriptors = compile_descriptors(files, (PROTO, errors)).file
    forks: list[int] = []
    fork = os.fork

    def counted_fork() -> int:
        forks.append(1)
        return fork()

    os.fork = counted_fork
    whole = build_api(descriptors, files, processes=1)
    in_parts = build_api(descriptors, files, processes=int(parts))
    request = plugin_pb2.CodeGeneratorRequest(
        file_to_generate=files, parameter=f"jobs={parts}", proto_file=descriptors
    )
    single = plugin_pb2.CodeGeneratorRequest(
        file_to_generate=files, parameter="jobs=1", proto_file=descriptors
    )
    return {
        "same": in_parts == whole,
        "same_problems": in_parts.problems == whole.problems,
        "problems": len(whole.problems),
        "forks": len(forks),
        "same_response": generate(request).file == generate(single).file,
    }


@case
def without_scratch_space() -> Result:
    def unavailable() -> None:
        raise OSError(30, "Read-only file system")

    tempfile.TemporaryFile = unavailable  # type: ignore[assignment]
    return {"pids": _pids(_run([_job(index) for index in range(1, 7)], 3))}


@case
def with_another_thread() -> Result:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        return {"pids": _pids(_run([_job(index) for index in range(1, 7)], 3))}
    finally:
        stop.set()
        other.join()


if __name__ == "__main__":
    name, *arguments = sys.argv[1:]
    print(json.dumps({**CASES[name](*arguments), "pid": os.getpid()}))
