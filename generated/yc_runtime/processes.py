"""Serving one port from several processes (`--processes N`), under a supervisor.

grpcio's server is held to about one core by the GIL, so a machine's other cores serve calls
only if more processes do. The process started becomes the supervisor; it serves no call itself:

- It reserves the port: a socket bound with SO_REUSEPORT (port 0 picks a free one) and kept,
  not listening, for as long as it runs, so the port stays the server's while workers come and
  go. Each worker's gRPC server listens on the same port with SO_REUSEPORT
  (`grpc.so_reuseport`), and the kernel spreads new connections over the workers listening.
  A REST port is reserved alike, and each worker's REST face listens on it with SO_REUSEPORT.
- It opens and closes the storage once before the workers start, so that the schema is created
  (or upgraded) by one process rather than by N at the same moment.
- It forks the workers before any grpc object exists in it: grpc's threads do not survive a
  fork. It prints `listening on HOST:PORT` once every worker serves.
- SIGTERM or Ctrl-C: it sends each worker SIGTERM, and each drains as a lone server does (its
  health service says NOT_SERVING, calls in flight finish, new ones are answered UNAVAILABLE);
  the supervisor exits 0 once all have stopped cleanly.
- A worker that dies (a crash, `kill -9`) is logged with its exit code or signal and started
  again after `restart_delay`: half a second, doubling with each crash of the same worker
  that had not served a minute, up to 30 s. A worker that fails to start: at the server's start
  the server stops at once (as a lone server would: the port, the files or a package are
  wrong); on a restart, the server stops after `MAX_FAILED_STARTS` in a row.

A worker whose supervisor is gone (killed with SIGKILL) stops by itself within a second or so.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Callable

from .storage import open_storage

if TYPE_CHECKING:
    from .server import RunningServer

log = logging.getLogger(__name__)

# Restarts of a worker that crashed: the first after RESTART_DELAY seconds, each further one
# twice as late as the one before, up to MAX_RESTART_DELAY, unless it had served STABLE
# seconds; a worker that fails to start MAX_FAILED_STARTS times in a row stops the server.
RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 30.0
STABLE = 60.0
MAX_FAILED_STARTS = 3
# On stopping, workers get the grace period to drain and this much more to exit, after which
# they are killed.
EXIT_MARGIN = 30.0
# How often a worker checks that its supervisor is still there.
ORPHAN_CHECK = 1.0

# The signals the supervisor handles.
_HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)

# What a worker's `start` does: starts its server on the shared port (`port`, `reuse_port`)
# and its REST face's listening socket (`http_socket`).
StartWorker = Callable[..., "RunningServer"]


def cores() -> int:
    """The cores this process may run on (`--processes 0`)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_storage(db: str, processes: int) -> None:
    """Raises ValueError if `db` cannot be shared by `processes` processes."""
    if processes > 1 and db == ":memory:":
        raise ValueError(
            f"--db :memory: keeps the data inside one process, but --processes asks for "
            f"{processes}: give a SQLite file (or a database) that they can share"
        )


@dataclass
class Worker:
    number: int  # 1 to N, kept across restarts
    pid: int = 0  # 0 while waiting to be started again
    serving_since: float = 0.0  # time.monotonic() when it said it serves; 0: not yet
    crashes: int = 0  # in a row: crashes after less than STABLE seconds of serving
    failed_starts: int = 0  # in a row: deaths before serving
    restart_at: float = 0.0  # time.monotonic() to start it again, when pid is 0


class StartFailed(Exception):
    """A worker could not start: the message says why."""


class Supervisor:
    def __init__(
        self,
        count: int,
        start_worker: StartWorker,
        host: str,
        port: int,
        http_port: int | None,
        db: str,
        grace: float,
    ) -> None:
        self.count = count
        self.start_worker = start_worker
        self.host = host
        self.grace = grace
        self.db = db
        self.reserved = _reserve_port(host, port)
        self.port: int = self.reserved.getsockname()[1]
        self.http_reserved = None
        if http_port is not None:
            self.http_reserved = _reserve_port(host, http_port)
        self.workers: list[Worker] = []
        self.stopping = False
        # Workers say "PID ready" or "PID failed WHY" on one pipe; signals (SIGTERM, SIGINT,
        # SIGCHLD) wake the supervisor through a socket of their own.
        self.reports, self.report_writer = os.pipe()
        self.wakeup, self.wakeup_writer = socket.socketpair()
        self.wakeup.setblocking(False)
        self.wakeup_writer.setblocking(False)
        self.unread = b""
        # The schema is made once here, rather than by every worker at the same moment.
        open_storage(db).close()

    # --- the supervisor -------------------------------------------------------------------

    def run(self) -> int:
        """Serves until SIGTERM or Ctrl-C; the exit status."""
        self._handle_signals()
        try:
            self.workers = [Worker(number) for number in range(1, self.count + 1)]
            for worker in self.workers:
                self._fork(worker)
            try:
                self._wait_until_serving()
            except StartFailed as error:
                self._stop_all()
                print(error, file=sys.stderr, flush=True)
                return 1
            if self.stopping:
                return self._stop_all()
            print(f"listening on {self.host}:{self.port}", flush=True)
            if self.http_reserved is not None:
                http_port = self.http_reserved.getsockname()[1]
                print(f"REST on {self.host}:{http_port}", flush=True)
            log.info(
                "serving from %d processes: %s",
                self.count,
                ", ".join(str(worker.pid) for worker in self.workers),
            )
            return self._supervise()
        finally:
            signal.set_wakeup_fd(-1)
            self.reserved.close()
            if self.http_reserved is not None:
                self.http_reserved.close()

    def _handle_signals(self) -> None:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        # A handler of its own, so that a worker's death writes to the wakeup socket.
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wakeup_writer.fileno(), warn_on_full_buffer=False)

    def _wait_until_serving(self) -> None:
        """Waits until every worker serves; raises StartFailed if one dies first."""
        while not self.stopping and not all(w.serving_since for w in self.workers):
            self._sleep(None)
            for worker, report in self._read_reports():
                if report != "ready":
                    raise StartFailed(report.removeprefix("failed "))
                worker.serving_since = time.monotonic()
            for worker, status in self._reap():
                pid, worker.pid = worker.pid, 0
                raise StartFailed(
                    f"cannot start the server: worker {worker.number} (pid {pid}) "
                    f"{describe(status)}"
                )

    def _supervise(self) -> int:
        """Restarts workers that die, until stopped; the exit status."""
        while not self.stopping:
            pending = [w.restart_at for w in self.workers if not w.pid]
            self._sleep(max(0.0, min(pending) - time.monotonic()) if pending else None)
            for worker, status in self._reap():
                if self._died(worker, status):
                    self._stop_all()
                    return 1
            for worker, report in self._read_reports():
                if report == "ready":
                    worker.serving_since = time.monotonic()
                    worker.failed_starts = 0
                    log.info(
                        "worker %d (pid %d) serves again", worker.number, worker.pid
                    )
                else:
                    log.error(
                        "worker %d: %s", worker.number, report.removeprefix("failed ")
                    )
            for worker in self.workers:
                if not worker.pid and worker.restart_at <= time.monotonic():
                    self._fork(worker)
        return self._stop_all()

    def _died(self, worker: Worker, status: int) -> bool:
        """Notes a worker's death and when to start it again; whether the server must stop."""
        pid, served = worker.pid, worker.serving_since
        worker.pid = 0
        worker.serving_since = 0.0
        if not served:
            worker.failed_starts += 1
            if worker.failed_starts >= MAX_FAILED_STARTS:
                log.error(
                    "worker %d (pid %d) %s before serving, %d times in a row: "
                    "stopping the server",
                    worker.number,
                    pid,
                    describe(status),
                    worker.failed_starts,
                )
                return True
        if served and time.monotonic() - served >= STABLE:
            worker.crashes = 0
        worker.crashes += 1
        delay = restart_delay(worker.crashes)
        worker.restart_at = time.monotonic() + delay
        log.error(
            "worker %d (pid %d) %s; starting it again in %g s",
            worker.number,
            pid,
            describe(status),
            delay,
        )
        return False

    def _stop_all(self) -> int:
        """Stops every worker (SIGTERM: each drains); 0 if all stopped cleanly, else 1."""
        running = [w for w in self.workers if w.pid]
        log.info("shutting down: stopping %d worker(s)", len(running))
        for worker in running:
            _signal(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace + EXIT_MARGIN
        clean = True
        while any(w.pid for w in self.workers):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for worker in self.workers:
                    if worker.pid:
                        log.error(
                            "worker %d (pid %d) killed", worker.number, worker.pid
                        )
                        _signal(worker.pid, signal.SIGKILL)
                deadline = float("inf")
            self._sleep(min(remaining, 1.0) if remaining > 0 else 1.0)
            for worker, status in self._reap():
                worker.pid = 0
                # One still starting has no handler yet: SIGTERM ends it, cleanly enough.
                unstarted = not worker.serving_since and _killed_by(
                    status, signal.SIGTERM
                )
                if status != 0 and not unstarted:
                    clean = False
                    log.error(
                        "worker %d %s while stopping", worker.number, describe(status)
                    )
            self._read_reports()
        log.info("stopped")
        return 0 if clean else 1

    def _sleep(self, timeout: float | None) -> None:
        """Waits for a signal, a worker's report, or `timeout` seconds."""
        select.select([self.wakeup.fileno(), self.reports], [], [], timeout)
        try:
            while self.wakeup.recv(512):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> list[tuple[Worker, int]]:
        """The workers that have exited since last asked, with their wait statuses."""
        by_pid = {w.pid: w for w in self.workers if w.pid}
        dead = []
        while by_pid:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in by_pid:
                dead.append((by_pid.pop(pid), status))
        return dead

    def _read_reports(self) -> list[tuple[Worker, str]]:
        """The workers' reports that have arrived, each with its worker."""
        readable, _, _ = select.select([self.reports], [], [], 0)
        if readable:
            self.unread += os.read(self.reports, 65536)
        lines = self.unread.split(b"\n")
        self.unread = lines.pop()
        by_pid = {w.pid: w for w in self.workers if w.pid}
        reports = []
        for line in lines:
            pid, _, report = line.decode("utf-8", "replace").partition(" ")
            worker = by_pid.get(int(pid))
            if worker is not None:  # else it has died since
                reports.append((worker, report))
        return reports

    def _fork(self, worker: Worker) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        # Signals wait until the new process has its own handlers: the supervisor's, which it
        # inherits, would only set a flag that nothing there reads.
        signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        pid = os.fork()
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
            worker.pid = pid
            return
        status = 1
        try:
            status = self._work()
        except BaseException:
            log.exception("worker %d failed", worker.number)
        finally:
            logging.shutdown()
            os._exit(status)

    # --- a worker -------------------------------------------------------------------------

    def _work(self) -> int:
        """A worker's life, in the forked process: serves until SIGTERM; its exit status."""
        from .server import startup_error, stop_signal, wait_for

        supervisor = os.getppid()
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        # Ctrl-C reaches every process of the terminal's group: the supervisor passes it on
        # as SIGTERM, which `stop_signal` below handles.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
        self.wakeup.close()
        self.wakeup_writer.close()
        os.close(self.reports)
        self.reserved.close()
        http_socket = None
        try:
            if self.http_reserved is not None:
                http_port = self.http_reserved.getsockname()[1]
                self.http_reserved.close()
                http_socket = _listen_shared(self.host, http_port)
            running = self.start_worker(
                port=self.port, reuse_port=True, http_socket=http_socket
            )
        except Exception as error:
            self._report(f"failed {startup_error(error)}")
            return 1
        stopping = stop_signal()
        threading.Thread(
            target=_stop_when_orphaned,
            args=(supervisor, stopping),
            name="supervisor-check",
            daemon=True,
        ).start()
        self._report("ready")
        wait_for(stopping)
        running.stop(self.grace)
        return 0

    def _report(self, report: str) -> None:
        line = f"{os.getpid()} {' '.join(report.split())[:1000]}\n"
        os.write(self.report_writer, line.encode())


def _stop_when_orphaned(supervisor: int, stopping: threading.Event) -> None:
    while os.getppid() == supervisor:
        if stopping.wait(ORPHAN_CHECK):
            return
    log.error("the supervisor (pid %d) is gone: stopping", supervisor)
    stopping.set()


def restart_delay(crashes: int) -> float:
    """Seconds before a worker that crashed `crashes` times in a row starts again."""
    return float(min(MAX_RESTART_DELAY, RESTART_DELAY * 2 ** (crashes - 1)))


def _killed_by(status: int, signum: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signum


def describe(status: int) -> str:
    """A wait status, in words: `exited with code 3`, `was killed by SIGKILL`."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"was killed by {name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # it has just exited; _reap will see it
        pass


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[
        0
    ]
    return family, (str(address[0]), port)


def _reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` with SO_REUSEPORT, which other sockets with it can
    share; port 0 picks a free one."""
    family, address = _address(host, port)
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reserved.bind(address)
    except OSError as error:
        reserved.close()
        raise OSError(f"cannot listen on {host}:{port} ({error.strerror})") from None
    return reserved


def _listen_shared(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port` beside other processes' (SO_REUSEPORT)."""
    listening = _reserve_port(host, port)
    listening.listen(1024)
    return listening
