"""Rendering on more than one core: a run's jobs dealt between this process and forked
workers, their outputs put back in job order, so that the answer is the same bytes as rendering
the jobs in turn. Protoc waits while its plugin runs, so its core is free for a worker.

Workers are forked after the model is built and share it copy-on-write: nothing is pickled.
A job goes to process (its group mod N): the jobs of a group share one process's caches, and
neighbouring groups cost about the same, so the shares come out even. A worker appends each
output to a scratch file and tells the parent its length on a pipe; the parent writes each
output as soon as all the outputs before it are in, and keeps its own outputs that are ahead of
their turn in a scratch file too. Neither side waits for the other while it has work: a pipe
holds thousands of those short notes, and the parent reads them after each of its own jobs.

`map_in_processes` is the simpler form for a few large tasks whose results are Python objects
(the model's parts): each result comes back pickled through a scratch file.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import signal
import struct
import sys
import tempfile
import threading
from collections import deque
from typing import IO, Callable, Iterable, NoReturn, Sequence, TypeVar, cast

from generator.errors import GeneratorError

# A worker's note: what it appended to its scratch file, and how many bytes.
_NOTE = struct.Struct("<BQ")
_OUTPUT, _GENERATOR_ERROR, _FAILURE = 0, 1, 2
# More processes than this would add memory (each touches its copy of the model) for little.
AUTO_LIMIT = 4
# Fewer jobs than this are done before a fork would pay for itself.
AUTO_MINIMUM_JOBS = 64


Result = TypeVar("Result")


class WorkerFailure(Exception):
    """A worker process raised something other than a GeneratorError, or died."""


def auto_processes(jobs: int) -> int:
    """How many processes `jobs=0` (the default) asks for: one per core, up to AUTO_LIMIT,
    once the run is large enough (`run_in_order` still keeps to one where it cannot fork).
    """
    if jobs < AUTO_MINIMUM_JOBS:
        return 1
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return max(1, min(cores, AUTO_LIMIT))


def can_fork() -> bool:
    """Whether this process can fork workers: it has `fork`, and one thread. A fork copies only
    the calling thread: locks that others hold (gRPC's, in a process that has served or called)
    would stay held in the worker, and gRPC's own fork handlers can wait forever. The plugin's
    process has one thread."""
    if not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: the threads Python knows of
        return threading.active_count() == 1


def release_free_memory() -> None:
    """Gives freed heap memory back to the system (glibc keeps it otherwise), so that workers
    forked next do not each count the request the model was built from. A no-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return
    # The symbols the interpreter is linked with, libc's among them: no library search, which
    # would run `ldconfig`.
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def map_in_processes(
    tasks: Sequence[Callable[[], Result]],
    meanwhile: Callable[[], object] | None = None,
) -> list[Result]:
    """Each task's result, in order: the first task runs here, each other in a process forked
    for it, which pickles its result into a scratch file. For work that is worth more than the
    pickling, such as building parts of the model. `meanwhile` is called here once the first
    task is done, while the others finish: work of this process that needs no result. Errors
    as in `run_in_order`.
    """
    if len(tasks) < 2 or not can_fork():
        return _in_turn(tasks, meanwhile)
    try:
        scratches = [tempfile.TemporaryFile() for _ in tasks[1:]]
    except OSError:
        return _in_turn(tasks, meanwhile)
    sys.stdout.flush()
    sys.stderr.flush()
    pids: list[int] = []
    try:
        for task, scratch in zip(tasks[1:], scratches):
            pid = os.fork()
            if pid == 0:
                _pickle_result(task, scratch)
            pids.append(pid)
        results = [tasks[0]()]
        if meanwhile is not None:
            meanwhile()
        for pid, scratch in zip(list(pids), scratches):
            os.waitpid(pid, 0)
            pids.remove(pid)
            results.append(cast(Result, _unpickled_result(scratch)))
        return results
    finally:
        _reap(pids)
        for scratch in scratches:
            scratch.close()


def _in_turn(
    tasks: Sequence[Callable[[], Result]], meanwhile: Callable[[], object] | None
) -> list[Result]:
    results = [task() for task in tasks]
    if meanwhile is not None:
        meanwhile()
    return results


def _pickle_result(task: Callable[[], object], scratch: IO[bytes]) -> NoReturn:
    """In a forked process: the task's outcome pickled into the scratch file; then exit as
    `_work` does."""
    code = 1
    try:
        pickle.dump(_outcome(task), scratch, protocol=pickle.HIGHEST_PROTOCOL)
        scratch.flush()
        code = 0
    finally:
        os._exit(code)


def _unpickled_result(scratch: IO[bytes]) -> object:
    scratch.seek(0)
    try:
        kind, value = pickle.load(scratch)
    except (EOFError, pickle.UnpicklingError, ValueError) as error:
        raise WorkerFailure(f"a worker process ended without its result ({error})")
    _raise_reported(kind, value)
    return value


def _outcome(call: Callable[[], Result]) -> tuple[int, Result | str]:
    """What a call in a worker gives the parent: (_OUTPUT, its result), or the kind of what it
    raised and its message (a bug is reported by the parent too)."""
    try:
        return _OUTPUT, call()
    except GeneratorError as error:
        return _GENERATOR_ERROR, str(error)
    except BaseException as error:
        return _FAILURE, f"{type(error).__name__}: {error}"


def _raise_reported(kind: int, message: object) -> None:
    """In the parent: raises what a worker reported raising."""
    if kind == _GENERATOR_ERROR:
        raise GeneratorError(str(message))
    if kind == _FAILURE:
        raise WorkerFailure(f"in a worker process: {message}")


def run_in_order(
    jobs: Sequence[Callable[[], bytes]],
    processes: int,
    emit: Callable[[bytes], object],
    groups: Sequence[int] | None = None,
) -> None:
    """Calls `emit` with each job's bytes, in job order, the jobs run in `processes`
    processes: job k in process `groups[k]` mod N (by default k mod N), so that jobs of one
    group share one process's caches. A GeneratorError in any job is raised here as it was;
    anything else as a WorkerFailure naming it."""
    groups = groups if groups is not None else range(len(jobs))
    owners = [group % max(processes, 1) for group in groups]
    processes = len(set(owners))
    if processes < 2 or not can_fork():
        for job in jobs:
            emit(job())
        return
    try:  # a scratch file and a pipe per worker; without them, one process does it all
        channels = {
            share: (tempfile.TemporaryFile(), *os.pipe())
            for share in sorted(set(owners) - {0})
        }
        held = tempfile.TemporaryFile()
    except OSError:
        for job in jobs:
            emit(job())
        return
    sys.stdout.flush()
    sys.stderr.flush()
    workers: dict[int, _Worker] = {}
    try:
        for share, (scratch, read_end, write_end) in channels.items():
            pid = os.fork()
            if pid == 0:
                mine = [job for job, owner in zip(jobs, owners) if owner == share]
                others = [
                    end
                    for other, (_, other_read, other_write) in channels.items()
                    for end in (other_read, *(() if other == share else (other_write,)))
                ]
                _work(mine, scratch.fileno(), write_end, others)
            os.close(write_end)
            workers[share] = _Worker(pid, read_end, scratch)
        _collect(jobs, owners, workers, held, emit)
    finally:
        _reap(worker.pid for worker in workers.values())
        for scratch, read_end, write_end in channels.values():
            scratch.close()
            _close(read_end)
            _close(write_end)
        held.close()


def _reap(pids: Iterable[int]) -> None:
    """Ends the forked processes not waited for yet: gone already unless the run failed."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)


def _close(descriptor: int) -> None:
    try:
        os.close(descriptor)
    except OSError:  # closed already
        pass


def _work(
    jobs: Sequence[Callable[[], bytes]],
    scratch: int,
    notes: int,
    inherited: Sequence[int],
) -> NoReturn:
    """In a forked worker: each job's output into the scratch file and a note of it on the
    pipe, then exit without the parent's cleanup (no atexit, no flush of inherited buffers),
    whatever happens: the worker never returns into the parent's code. It first closes the
    pipe ends it inherited but does not use, so that another worker's end is seen as it comes.
    """
    code = 1
    try:
        for descriptor in inherited:
            _close(descriptor)
        for job in jobs:
            kind, output = _outcome(job)
            if isinstance(output, str):
                output = output.encode("utf-8", "replace")
            _append(scratch, notes, kind, output)
            if kind != _OUTPUT:
                break
        else:
            code = 0
    finally:
        os._exit(code)


def _append(scratch: int, notes: int, kind: int, data: bytes) -> None:
    _write_all(scratch, data)
    os.write(notes, _NOTE.pack(kind, len(data)))  # atomic: far below PIPE_BUF


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


class _Worker:
    """The parent's side of a worker: its notes, and its outputs read back in turn."""

    def __init__(self, pid: int, notes: int, scratch: IO[bytes]) -> None:
        self.pid = pid
        self.notes = notes  # the read end of its pipe
        self.scratch = scratch
        self.received = bytearray()  # the start of a note still coming
        self.lengths: deque[tuple[int, int]] = deque()  # (kind, length) in order
        self.offset = 0  # where its next output starts in the scratch file
        self.ended = False

    def next_output(self, wait: bool) -> bytes | None:
        """The worker's next output, if it has come (with `wait`, once it comes); raises what
        the worker raised, or a WorkerFailure if it ended before."""
        self._take_notes(wait)
        if not self.lengths:
            if self.ended:
                raise WorkerFailure("a worker process ended before its last job")
            return None
        kind, length = self.lengths.popleft()
        data = os.pread(self.scratch.fileno(), length, self.offset)
        self.offset += length
        if kind != _OUTPUT:
            _raise_reported(kind, data.decode("utf-8", "replace"))
        return data

    def _take_notes(self, wait: bool) -> None:
        """Reads the notes on the pipe: those there are, and with `wait`, until one is in."""
        while not self.ended:
            timeout = None if wait and not self.lengths else 0
            if not select.select([self.notes], [], [], timeout)[0]:
                return
            data = os.read(self.notes, 65536)
            if not data:
                self.ended = True
                return
            self.received += data
            complete = len(self.received) - len(self.received) % _NOTE.size
            self.lengths.extend(_NOTE.iter_unpack(self.received[:complete]))
            del self.received[:complete]


def _collect(
    jobs: Sequence[Callable[[], bytes]],
    owners: Sequence[int],
    workers: dict[int, _Worker],
    held: IO[bytes],
    emit: Callable[[bytes], object],
) -> None:
    """The parent: its own jobs, and every output in turn as soon as those before it are out.
    What it makes ahead of its turn waits in a scratch file of its own, not in memory.
    """
    waiting: dict[int, tuple[int, int]] = {}  # job -> (offset, length) in `held`
    following = 0  # the next job whose output goes out

    def flush(wait: bool) -> None:
        nonlocal following
        while following < len(jobs):
            owner = owners[following]
            if owner == 0:
                if following not in waiting:
                    return
                offset, length = waiting.pop(following)
                data: bytes | None = os.pread(held.fileno(), length, offset)
            else:
                data = workers[owner].next_output(wait)
            if data is None:
                return
            emit(data)
            following += 1

    end = 0
    for index, job in enumerate(jobs):
        if owners[index] != 0:
            continue
        data = job()
        flush(wait=False)
        if following == index:
            emit(data)
            following += 1
        else:
            _write_all(held.fileno(), data)
            waiting[index] = (end, len(data))
            end += len(data)
    flush(wait=True)
