"""A throwaway PostgreSQL server for tests, made from the distribution's binaries.

`PostgresCluster` runs `initdb` into a fresh temporary directory and serves it with `pg_ctl`
on 127.0.0.1 (a free port) and on a Unix socket in that directory, with `trust` authentication
for the superuser `postgres`. Each test takes a database of its own (`create_database`), so
tests never see each other's rows; `stop`, `start`, `restart` and `kill` are there for fault
tests. `ExternalServer` offers the same databases on a server someone else runs
(`TEST_POSTGRES_URL`, see tests/conftest.py).

Root: `initdb` refuses to run as root, and so does `postgres`. Under root (CI, containers)
every binary runs as an unprivileged user instead, `postgres` where that user exists (Debian's
package makes it) or else `nobody`, and the temporary directory is handed to that user. The
binary is started through util-linux's `setpriv`, which takes the user's ids before it runs
it: subprocess then starts `setpriv` with vfork, as it cannot when asked to change the user
itself (`user=`, then a plain fork). A fork copies the test's process, whose other threads may
be inside gRPC calls (the fault tests' writers), and gRPC's fork handlers then crash the copy
before it runs the binary. Without `setpriv`, subprocess's `user=`/`group=` it is.

Settings are those of a real server except for size: durability stays on (`fsync`,
`synchronous_commit` and `full_page_writes` keep their defaults), so a write a test saw
committed survives `kill()`; only memory is small (`shared_buffers=16MB`). `initdb --no-sync`
skips the one fsync of the freshly made files: a crash of the machine would lose the whole
throwaway directory anyway, and the server's own fsyncs are unaffected. The default collation is
ICU's `en-US` (PostgreSQL 15 and newer), not byte order, as on most real servers: storage code
that needs byte order must say so (`COLLATE "C"`), and a test of ordering catches it if not.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit, urlunsplit

SUPERUSER = "postgres"
NOT_FOUND = (
    "PostgreSQL's initdb/pg_ctl not found: install the distribution's postgresql package "
    "(apt-get install postgresql) to run these tests"
)
# Debian and Ubuntu install the binaries here, one directory per major version, not on PATH.
DISTRIBUTION_BINARIES = Path("/usr/lib/postgresql")
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'16MB'",
    "max_connections": "200",  # several servers under test, each with a pool, on one cluster
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}


class PostgresError(RuntimeError):
    """A step of setting up or running the cluster failed; the message carries its log."""


class Availability(NamedTuple):
    ok: bool
    reason: str  # why not, or which binaries will run


def find_binaries() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: TEST_POSTGRES_BINDIR if set (and
    only it then), else that of `initdb` on PATH, else the newest
    /usr/lib/postgresql/<version>/bin."""
    if chosen := os.environ.get("TEST_POSTGRES_BINDIR"):
        candidates = [Path(chosen)]
    else:
        on_path = shutil.which("initdb")
        versions = sorted(
            DISTRIBUTION_BINARIES.glob("*/bin"),
            key=lambda path: [int(n) for n in re.findall(r"\d+", path.parent.name)],
            reverse=True,
        )
        candidates = [Path(on_path).resolve().parent] if on_path else []
        candidates += versions
    for directory in candidates:
        if all(
            (directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")
        ):
            return directory
    return None


def run_as() -> pwd.struct_passwd | None:
    """The unprivileged user the binaries run as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise PostgresError(
        "running as root, and neither user 'postgres' nor 'nobody' exists"
    )


@functools.cache
def available() -> Availability:
    """Whether a cluster can be made here; the reason is meant for pytest.skip."""
    binaries = find_binaries()
    if binaries is None:
        where = (
            os.environ.get("TEST_POSTGRES_BINDIR") or f"PATH, {DISTRIBUTION_BINARIES}"
        )
        return Availability(False, f"{NOT_FOUND} (looked in {where})")
    try:
        user = run_as()
        version = _run(binaries / "initdb", "--version", user=user, timeout=30).strip()
    except (PostgresError, OSError, subprocess.SubprocessError) as error:
        return Availability(
            False, f"PostgreSQL's binaries in {binaries} do not run: {error}"
        )
    as_whom = f", run as user {user.pw_name}" if user else ""
    return Availability(True, f"{version} from {binaries}{as_whom}")


def major_version(binaries: Path) -> int:
    """The major version of the binaries in `binaries`, e.g. 15."""
    # initdb (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)
    output = _run(binaries / "initdb", "--version")
    match = re.search(r"\(PostgreSQL\) (\d+)", output)
    if match is None:
        raise PostgresError(f"unrecognised initdb --version: {output!r}")
    return int(match.group(1))


def _run(
    *command: str | Path, user: pwd.struct_passwd | None = None, timeout: float = 120
) -> str:
    """Runs a PostgreSQL binary (as `user`, if given) and returns its output; on failure,
    raises PostgresError with that output."""
    arguments = [str(part) for part in command]
    as_user: dict[str, Any] = {}
    if user is not None:  # see the module's docstring
        setpriv = shutil.which("setpriv")
        if setpriv:
            arguments = [
                setpriv,
                f"--reuid={user.pw_uid}",
                f"--regid={user.pw_gid}",
                "--clear-groups",
                "--",
                *arguments,
            ]
        else:
            as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    result = subprocess.run(
        arguments,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "LC_ALL": "C"},  # messages in English, whatever the locale
        cwd="/",  # the user may not be allowed into our working directory
        **as_user,
    )
    if result.returncode != 0:
        raise PostgresError(
            f"{Path(command[0]).name} exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout + result.stderr


def free_port() -> int:
    """A port nobody listens on now (another process may take it before the server does:
    start() then tries another)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_database(url: str, dbname: str) -> str:
    """`url` (postgresql://...) with its database replaced by `dbname`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


def database_of(url: str) -> str:
    """The database a postgresql:// URL names."""
    return urlsplit(url).path.lstrip("/")


class PostgresServer(Protocol):
    """What tests need of a server, whether ours (PostgresCluster) or someone else's."""

    def url(self, dbname: str | None = None) -> str: ...

    def create_database(self, name: str | None = None) -> str: ...

    def drop_database(self, name: str) -> None: ...

    def ensure_running(self) -> None: ...


class _Databases:
    """Databases made and dropped through the maintenance database at `self.url()`."""

    def url(self, dbname: str | None = None) -> str:
        raise NotImplementedError

    def create_database(self, name: str | None = None) -> str:
        """Creates an empty database (a fresh unique name by default); returns its URL."""
        import psycopg
        from psycopg import sql

        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            self.url(), autocommit=True, connect_timeout=10
        ) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops `name` if it exists, ending any session still connected to it."""
        import psycopg
        from psycopg import sql

        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        with psycopg.connect(
            self.url(), autocommit=True, connect_timeout=10
        ) as connection:
            connection.execute(statement.format(sql.Identifier(name)))


class ExternalServer(_Databases):
    """A server someone else runs, named by a postgresql:// URL whose user may create
    databases; its own database is used only to create and drop the tests' ones."""

    def __init__(self, url: str) -> None:
        if urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise PostgresError(f"not a postgresql:// URL: {url!r}")
        self.base_url = url

    def url(self, dbname: str | None = None) -> str:
        return self.base_url if dbname is None else with_database(self.base_url, dbname)

    def ensure_running(self) -> None:
        pass  # not ours to start


class PostgresCluster(_Databases):
    """A cluster of our own in a temporary directory: `start()` makes and starts it,
    `cleanup()` stops it and removes the directory (also done at interpreter exit)."""

    def __init__(self, base: str | Path | None = None) -> None:
        binaries = find_binaries()
        if binaries is None:
            raise PostgresError(NOT_FOUND)
        self.binaries = binaries
        self.user = run_as()
        # Not under pytest's tmp_path: its directories are private to the user running pytest.
        self.directory = Path(tempfile.mkdtemp(prefix="test-postgres-", dir=base))
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = 0  # chosen at the first start, then kept, so that URLs stay valid
        self._finalizer = weakref.finalize(
            self, _cleanup, self.binaries, self.directory, self.user
        )

    def url(self, dbname: str | None = None) -> str:
        """libpq URL of `dbname` (default: the maintenance database `postgres`) over TCP on
        127.0.0.1."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname or 'postgres'}"

    def socket_url(self, dbname: str | None = None) -> str:
        """libpq URL of `dbname` over the Unix socket in the temporary directory."""
        path = f"/{dbname or 'postgres'}?host={self.directory}&port={self.port}"
        return f"postgresql://{SUPERUSER}@{path}"

    def start(self) -> None:
        """Starts the server, making the cluster first if need be; returns once it accepts
        connections (pg_ctl -w)."""
        if not self.data.exists():
            self._initdb()
        if self.port:
            self._start()
            return
        for attempt in range(3):
            self.port = free_port()
            try:
                self._start()
                return
            except PostgresError as error:
                if attempt == 2 or "Address already in use" not in str(error):
                    raise

    def stop(self, mode: str = "fast") -> None:
        """Stops the server: 'fast' ends the sessions and shuts down cleanly, 'smart' waits
        for them to end, 'immediate' quits at once (recovery at the next start)."""
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """Crashes the server as a power cut would its processes: SIGKILL to the postmaster
        and all its children (backends included, rather than leaving them to notice that the
        postmaster died), then waits until they are gone. Nothing is shut down cleanly: the
        next start() recovers from the write-ahead log."""
        pid = self.postmaster_pid()
        if pid is None:
            raise PostgresError("kill(): the server is not running")
        _kill_server(pid, self.data)

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def ensure_running(self) -> None:
        """Starts the server if a test left it stopped or killed."""
        if not self.running():
            self.start()

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid while it runs, else None."""
        return _postmaster_pid(self.data)

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def cleanup(self) -> None:
        """Stops the server (killing it if it will not stop) and removes the directory."""
        self._finalizer()

    def _initdb(self) -> None:
        arguments: list[str | Path] = [
            *("-D", self.data, "-U", SUPERUSER, "--auth=trust"),
            *("--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"),
        ]
        if major_version(self.binaries) >= 15:
            arguments += ["--locale-provider=icu", "--icu-locale=en-US"]
        _run(self.binaries / "initdb", *arguments, user=self.user)
        settings = {
            **SERVER_SETTINGS,
            # The socket in our directory: /var/run/postgresql may be missing or not ours.
            "unix_socket_directories": f"'{self.directory}'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/postgres.py\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _start(self) -> None:
        try:
            self._pg_ctl("start", "-l", self.log, "-o", f"-p {self.port}")
        except PostgresError as error:
            raise PostgresError(
                f"{error}\nserver log:\n{self.server_log()[-5000:]}"
            ) from None

    def _pg_ctl(self, *arguments: str | Path) -> None:
        _run(
            self.binaries / "pg_ctl",
            *("-D", self.data, "-w", "-t", "60"),
            *arguments,
            user=self.user,
        )


def _postmaster_pid(data: Path) -> int | None:
    """The pid in data/postmaster.pid if that process runs and is a postgres (the file
    outlives a killed server, and its pid may have been reused since)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        command = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if command == "postgres" and _alive(pid) else None


def _kill_server(pid: int, data: Path) -> None:
    """SIGKILL to the postmaster `pid` and its children; returns once all are gone.

    A killed postmaster leaves its lock files (data/postmaster.pid, and one beside its Unix
    socket), and the next one refuses to start while the pid in them exists, a zombie's too:
    where the process that inherits orphans (pid 1 in a container) does not reap them, the dead
    postmaster stays a zombie. So once every process of the server has died, the lock files are
    removed, as a reboot would leave no such process behind."""
    os.kill(pid, signal.SIGSTOP)  # no new backend forks while we list them
    processes = [*_children(pid), pid]  # the backends first: none may see it die
    for process in processes:
        try:
            os.kill(process, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while any(_alive(process) for process in processes):
        if time.monotonic() > deadline:
            raise PostgresError(f"processes {processes} outlived SIGKILL by 30 s")
        time.sleep(0.02)
    for lock in [data / "postmaster.pid", *data.parent.glob(".s.PGSQL.*.lock")]:
        lock.unlink(missing_ok=True)


def _children(pid: int) -> list[int]:
    """The pids of `pid`'s children (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _cleanup(binaries: Path, directory: Path, user: pwd.struct_passwd | None) -> None:
    """Stops a cluster still running and removes its directory; apart from the class, for
    weakref.finalize (which also runs it at interpreter exit)."""
    data = directory / "data"
    if _postmaster_pid(data) is not None:
        try:
            _run(binaries / "pg_ctl", "-D", data, "-w", "-t", "30", "stop", user=user)
        except (PostgresError, subprocess.SubprocessError):
            pid = _postmaster_pid(data)
            if pid is not None:
                _kill_server(pid, data)
    shutil.rmtree(directory, ignore_errors=True)
