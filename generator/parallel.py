"""Rendering on more than one core: a run's jobs dealt between this process and forked
workers, their outputs put back in job order, so that the answer is the same bytes as rendering
the jobs in turn. Protoc waits while its plugin runs, so its core is free for a worker.

Workers are forked after the model is built and share it copy-on-write: it is not pickled.
Each process takes the next run of jobs of one group as it goes (`_Claims`): the jobs of a
group share one process's caches, and a process that is done sooner takes more, so that
the processes end together. A worker appends each output to a scratch file and tells the parent
which job it was and its length on a pipe; the parent writes each output as soon as all the
outputs before it are in, and keeps its own outputs that are ahead of their turn in a scratch
file too. Neither side waits for the other while it has work: a pipe holds thousands of those
short notes, and the parent reads them after each of its own jobs.

Jobs may give Python objects rather than bytes (`objects=True`, the model's parts): a worker
pickles each as it is done, and the parent unpickles it in its turn, between jobs of its own;
the parent keeps its own ahead of their turn in memory.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import tempfile
import threading
from functools import partial
from typing import IO, Any, Callable, Iterable, NoReturn, Sequence

from generator.errors import GeneratorError

# A worker's note: what it appended to its scratch file, for which job, and how many bytes.
_NOTE = struct.Struct("<BIQ")
_OUTPUT, _GENERATOR_ERROR, _FAILURE = 0, 1, 2
# More processes than this would add memory (each touches its copy of the model) for little.
AUTO_LIMIT = 4
# Fewer jobs than this are done before a fork would pay for itself.
AUTO_MINIMUM_JOBS = 64


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


def _outcome(call: Callable[[], Any]) -> tuple[int, Any]:
    """What a call in a worker gives the parent: (_OUTPUT, its result), or the kind of what it
    raised and its message (a bug is reported by the parent too)."""
    try:
        return _OUTPUT, call()
    except GeneratorError as error:
        return _GENERATOR_ERROR, str(error)
    except BaseException as failure:
        return _FAILURE, f"{type(failure).__name__}: {failure}"


def _raise_reported(kind: int, message: object) -> None:
    """In the parent: raises what a worker reported raising."""
    if kind == _GENERATOR_ERROR:
        raise GeneratorError(str(message))
    if kind == _FAILURE:
        raise WorkerFailure(f"in a worker process: {message}")


def run_in_order(
    jobs: Sequence[Callable[[], Any]],
    processes: int,
    emit: Callable[[Any], object],
    groups: Sequence[int] | None = None,
    meanwhile: Callable[[], object] | None = None,
    objects: bool = False,
) -> None:
    """Calls `emit` with each job's bytes (with `objects`, whatever it gives, which pickle
    can carry), in job order, the jobs run in `processes` processes. Consecutive jobs of one
    group (by default each job is its own) run in one process, so that they share its caches;
    see `_Claims` for which process runs which. `meanwhile` is called here before any job:
    work of this process that needs no job's output, while the workers start on theirs (this
    process then takes fewer jobs). A GeneratorError in any job is raised here as it was;
    anything else as a WorkerFailure naming it."""
    units = _units(groups if groups is not None else range(len(jobs)))
    processes = min(processes, len(units))
    if processes < 2 or not can_fork():
        _in_turn(jobs, emit, meanwhile)
        return
    try:  # a scratch file and a pipe per worker; without them, one process does it all
        channels = [(tempfile.TemporaryFile(), *os.pipe()) for _ in range(1, processes)]
        held = tempfile.TemporaryFile()
        claims = _Claims(len(units), processes)
    except OSError:
        _in_turn(jobs, emit, meanwhile)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    workers: dict[int, _Worker] = {}
    try:
        for process, (scratch, read_end, write_end) in enumerate(channels, start=1):
            pid = os.fork()
            if pid == 0:
                others = [
                    end
                    for other, (_, other_read, other_write) in enumerate(
                        channels, start=1
                    )
                    for end in (
                        other_read,
                        *(() if other == process else (other_write,)),
                    )
                ]
                if objects:
                    jobs = [partial(_pickled, job) for job in jobs]
                _work(jobs, units, claims, process, scratch.fileno(), write_end, others)
            os.close(write_end)
            workers[process] = _Worker(pid, read_end, scratch)
        if meanwhile is not None:
            meanwhile()
        _Collector(jobs, units, claims, workers, held, emit, objects).run()
    finally:
        _reap(worker.pid for worker in workers.values())
        for scratch, read_end, write_end in channels:
            scratch.close()
            _close(read_end)
            _close(write_end)
        held.close()
        claims.close()


def _in_turn(
    jobs: Sequence[Callable[[], Any]],
    emit: Callable[[Any], object],
    meanwhile: Callable[[], object] | None,
) -> None:
    if meanwhile is not None:
        meanwhile()
    for job in jobs:
        emit(job())


def _pickled(job: Callable[[], object]) -> bytes:
    """In a worker: a job's output as the parent unpickles it (`run_in_order`'s `objects`)."""
    return pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL)


def _unpickled(data: bytes) -> object:
    try:
        return pickle.loads(data)
    except (EOFError, pickle.UnpicklingError, ValueError) as error:
        raise WorkerFailure(f"a worker's output does not unpickle ({error})") from None


def _units(groups: Sequence[int]) -> list[range]:
    """The jobs cut into runs of consecutive jobs of one group."""
    units: list[range] = []
    start = 0
    for index in range(1, len(groups) + 1):
        if index == len(groups) or groups[index] != groups[start]:
            units.append(range(start, index))
            start = index
    return units


class _Claims:
    """Which process runs which unit (a run of jobs of one group), decided as they go, in
    memory the processes share: process p starts with unit p, then each takes the next unit
    that none has taken, in job order. A process that is done sooner takes more, so that the
    processes end about together, and the outputs come in about the order the parent writes
    them in."""

    def __init__(self, units: int, processes: int) -> None:
        self._memory = mmap.mmap(-1, 4 * (units + 1))  # shared on fork
        self._cells = memoryview(self._memory).cast("i")
        self._cells[0] = processes  # the next unit to take
        for unit in range(units):  # who took each unit
            self._cells[1 + unit] = unit if unit < processes else -1
        # A token in a pipe: whoever reads it holds the lock, and writes it back.
        self._lock_read, self._lock_write = os.pipe()
        os.write(self._lock_write, b".")

    def take(self, process: int) -> int | None:
        """The next unit for `process` to run after its first, or None if none is left."""
        os.read(self._lock_read, 1)
        try:
            unit = self._cells[0]
            if unit + 1 >= len(self._cells):
                return None
            self._cells[0] = unit + 1
            self._cells[1 + unit] = process
            return unit
        finally:
            os.write(self._lock_write, b".")

    def owner(self, unit: int) -> int:
        """The process that took `unit`, or -1."""
        return self._cells[1 + unit]

    def close(self) -> None:
        self._cells.release()
        self._memory.close()
        _close(self._lock_read)
        _close(self._lock_write)


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
    units: Sequence[range],
    claims: _Claims,
    process: int,
    scratch: int,
    notes: int,
    inherited: Sequence[int],
) -> NoReturn:
    """In a forked worker: the units it takes, each job's output into the scratch file and a
    note of it on the pipe, then exit without the parent's cleanup (no atexit, no flush of
    inherited buffers), whatever happens: the worker never returns into the parent's code.
    It first closes the pipe ends it inherited but does not use, so that another worker's end
    is seen as it comes."""
    code = 1
    try:
        for descriptor in inherited:
            _close(descriptor)
        failed = False
        unit: int | None = process
        while not failed and unit is not None:
            for index in units[unit]:
                kind, output = _outcome(jobs[index])
                if isinstance(output, str):
                    output = output.encode("utf-8", "replace")
                _append(scratch, notes, kind, index, output)
                failed = kind != _OUTPUT
                if failed:
                    break
            unit = claims.take(process)
        code = 1 if failed else 0
    finally:
        os._exit(code)


def _append(scratch: int, notes: int, kind: int, job: int, data: bytes) -> None:
    _write_all(scratch, data)
    os.write(notes, _NOTE.pack(kind, job, len(data)))  # atomic: far below PIPE_BUF


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    written = 0
    while written < len(view):
        written += os.write(descriptor, view[written:])


class _Worker:
    """The parent's side of a worker: its notes, and where its outputs are in its scratch
    file."""

    def __init__(self, pid: int, notes: int, scratch: IO[bytes]) -> None:
        self.pid = pid
        self.notes = notes  # the read end of its pipe
        self.scratch = scratch
        self.received = bytearray()  # the start of a note still coming
        self.offset = 0  # where its next output starts in the scratch file
        self.ended = False

    def take_notes(self, outputs: dict[int, tuple[int, IO[bytes], int, int]]) -> None:
        """Reads the notes on the pipe, into `outputs`: job -> (kind, file, offset, length)."""
        data = os.read(self.notes, 65536)
        if not data:
            self.ended = True
            return
        self.received += data
        complete = len(self.received) - len(self.received) % _NOTE.size
        for kind, job, length in _NOTE.iter_unpack(self.received[:complete]):
            outputs[job] = (kind, self.scratch, self.offset, length)
            self.offset += length
        del self.received[:complete]


class _Collector:
    """The parent: the units it takes, and every output in turn as soon as those before it
    are out. What it makes ahead of its turn waits in a scratch file of its own, not in
    memory (but objects, which are not bytes)."""

    def __init__(
        self,
        jobs: Sequence[Callable[[], Any]],
        units: Sequence[range],
        claims: _Claims,
        workers: dict[int, _Worker],
        held: IO[bytes],
        emit: Callable[[Any], object],
        objects: bool,
    ) -> None:
        self.jobs = jobs
        self.units = units
        self.unit_of = [unit for unit, run in enumerate(units) for _ in run]
        self.claims = claims
        self.workers = workers
        self.held = held
        self.held_end = 0
        self.emit = emit
        self.objects = objects
        self.outputs: dict[int, tuple[int, IO[bytes], int, int]] = {}
        self.kept: dict[int, object] = {}  # this process's objects ahead of their turn
        self.following = 0  # the next job whose output goes out

    def run(self) -> None:
        unit: int | None = 0
        while unit is not None:
            for index in self.units[unit]:
                self._own_output(index, self.jobs[index]())
            unit = self.claims.take(0)
        while self.following < len(self.jobs):
            self._read_notes(wait=True)
            self._flush()

    def _own_output(self, index: int, data: Any) -> None:
        """One of the parent's outputs: written if its turn has come, else held."""
        self._read_notes(wait=False)
        self._flush()
        if self.following == index:
            self.emit(data)
            self.following += 1
        elif self.objects:
            self.kept[index] = data
        else:
            _write_all(self.held.fileno(), data)
            self.outputs[index] = (_OUTPUT, self.held, self.held_end, len(data))
            self.held_end += len(data)

    def _flush(self) -> None:
        while True:
            if self.following in self.kept:
                self.emit(self.kept.pop(self.following))
            elif self.following in self.outputs:
                kind, scratch, offset, length = self.outputs.pop(self.following)
                data = os.pread(scratch.fileno(), length, offset)
                if kind != _OUTPUT:
                    _raise_reported(kind, data.decode("utf-8", "replace"))
                self.emit(_unpickled(data) if self.objects else data)
            else:
                break
            self.following += 1
        if self.following < len(self.jobs):
            owner = self.claims.owner(self.unit_of[self.following])
            # A worker's pipe ends after its last note: it will not come.
            if owner > 0 and self.workers[owner].ended:
                raise WorkerFailure("a worker process ended before its last job")

    def _read_notes(self, wait: bool) -> None:
        """The notes on the workers' pipes; with `wait`, once some come (or a worker ends)."""
        live = {w.notes: w for w in self.workers.values() if not w.ended}
        if not live:
            return
        ready, _, _ = select.select(list(live), [], [], None if wait else 0)
        for descriptor in ready:
            live[descriptor].take_notes(self.outputs)
