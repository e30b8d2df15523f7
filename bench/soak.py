"""Soak test (`make soak`, not CI): many clients of mixed calls against one server process.

    python bench/soak.py [--minutes 10 | --seconds 60] [--clients 16] [--db PATH|:memory:]

16 client threads (each with its own connection) call Get, List (filters, orders, paging),
Create, Update (name, description, labels.<key>), Delete, ListOperations and OperationService.Get
on a shared, bounded set of images in four folders, for 10 minutes by default. Every 10 s the
server's RSS (VmRSS in /proc/PID/status) and open file descriptors (/proc/PID/fd) are sampled.

It fails (exit status 1) when
- a call ends with a code the mix cannot explain: clients share the images, so Get, Update and
  Delete may meet NOT_FOUND, and Create and Update (of the name) ALREADY_EXISTS; anything else
  (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, ...) is a violation, as is an ERROR in the log;
- the RSS grows by more than 20% after the warm-up (the first minute, or the first 20% of a
  shorter run), or the number of open descriptors grows at all after it;
- the server does not stop cleanly on SIGTERM, or its database fails `PRAGMA integrity_check`.

With `--growth`, it runs the growth test instead: 8 clients create images in one folder until
it holds more than 100,000 (`--images`), while one more lists that folder (page_size 20, by id
and by name) and gets images, and the server's RSS is sampled. It fails when a List, Get or
Create p50 with the folder past 90% of its size is more than twice the p50 while it held its
first 2,000-10,000 images, when the RSS grows by more than 25% from that early window to the
end (SQLite keeps the data on disk; with `--db :memory:` the data is in RSS and only latency is
checked), or on any error.

Progress goes to stderr; the result, in Markdown (for bench/RESULTS.md), to stdout. The server
listens on 127.0.0.1 only; every loop is bounded in time and in count.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"
sys.path.insert(0, str(GENERATED))

import grpc  # noqa: E402
from google.protobuf import field_mask_pb2, text_format  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

from yandex.cloud.baremetal.v1alpha import (  # noqa: E402
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
)
from yandex.cloud.operation import (  # noqa: E402
    operation_service_pb2,
    operation_service_pb2_grpc,
)

Code = grpc.StatusCode
FOLDERS = tuple(f"soak-{index}" for index in range(4))
NAMES = tuple(f"img-{index}" for index in range(32))  # per folder: creates collide
LABEL_KEYS = ("env", "team", "tier", "zone")
TIMEOUT = 10.0  # seconds, per call
KNOWN_OPERATIONS = 2000  # operation ids remembered, for OperationService.Get
DEAD_IDS = 200  # ids of deleted images remembered, so that NOT_FOUND happens
MEMORY_GROWTH_LIMIT = 0.20
# What each call may answer besides OK, given that the clients share the images.
EXPECTED: dict[str, frozenset[grpc.StatusCode]] = {
    "Get": frozenset({Code.NOT_FOUND}),
    "List": frozenset(),
    "Create": frozenset({Code.ALREADY_EXISTS}),
    "Update": frozenset({Code.NOT_FOUND, Code.ALREADY_EXISTS}),
    "Delete": frozenset({Code.NOT_FOUND}),
    "ListOperations": frozenset(),
    "GetOperation": frozenset(),
}
WEIGHTS = {
    "Get": 25,
    "List": 12,
    "Create": 15,
    "Update": 25,
    "Delete": 8,
    "ListOperations": 8,
    "GetOperation": 7,
}


# --- the server --------------------------------------------------------------------------------


class Server:
    """generated/api_server.py in its own process; its stderr goes to a log file."""

    def __init__(self, db: str, log: Path) -> None:
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "api_server.py", "--port", "0", "--db", db],
            cwd=GENERATED,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on 127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}\n{log.read_text()}")
        self.address = line.removeprefix("listening on ")

    def sample(self) -> tuple[int, int]:
        """(RSS in KiB, open file descriptors) of the server process."""
        pid = self.process.pid
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        return rss, len(os.listdir(f"/proc/{pid}/fd"))

    def stop(self) -> int | None:
        """SIGTERM, then the exit status (None if it had to be killed after 30 s)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            return None
        finally:
            self._log_file.close()


# --- the clients -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, per method."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    unexpected: list[str] = field(default_factory=list)  # the first few, in full

    def record(
        self, method: str, code: grpc.StatusCode, seconds: float, why: str
    ) -> None:
        with self.lock:
            self.codes[method][code.name] += 1
            self.latencies[method].append(seconds)
            if code is not Code.OK and code not in EXPECTED[method]:
                if len(self.unexpected) < 20:
                    self.unexpected.append(f"{method}: {code.name} {why}")


@dataclass
class Shared:
    """Image and operation ids the clients learned, shared between them (bounded: names are
    unique within a folder, so at most len(FOLDERS) * len(NAMES) images live at once).
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    live: list[str] = field(default_factory=list)
    gone: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=DEAD_IDS)
    )
    operations: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=KNOWN_OPERATIONS)
    )

    def pick_image(self, rng: random.Random) -> str | None:
        """Mostly a live image; now and then a deleted one (NOT_FOUND)."""
        with self.lock:
            if self.gone and (not self.live or rng.random() < 0.1):
                return rng.choice(self.gone)
            return rng.choice(self.live) if self.live else None

    def pick_operation(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.operations) if self.operations else None

    def learn(self, image_id: str = "", operation_id: str = "") -> None:
        with self.lock:
            if image_id:
                self.live.append(image_id)
            if operation_id:
                self.operations.append(operation_id)

    def forget(self, image_id: str) -> None:
        """The image was deleted (by this client, or found so)."""
        with self.lock:
            if image_id in self.live:
                self.live.remove(image_id)
                self.gone.append(image_id)


class Client:
    def __init__(
        self, address: str, shared: Shared, tally: Tally, rng: random.Random
    ) -> None:
        self.channel = grpc.insecure_channel(
            address, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        grpc.channel_ready_future(self.channel).result(timeout=TIMEOUT)
        self.images = image_service_pb2_grpc.ImageServiceStub(self.channel)
        self.operations = operation_service_pb2_grpc.OperationServiceStub(self.channel)
        self.shared, self.tally, self.rng = shared, tally, rng
        self.counter = 0
        self.last_code = Code.OK
        self.calls: dict[str, Callable[[], None]] = {
            "Get": self.get,
            "List": self.list,
            "Create": self.create,
            "Update": self.update,
            "Delete": self.delete,
            "ListOperations": self.list_operations,
            "GetOperation": self.get_operation,
        }
        self.methods = list(WEIGHTS)
        self.weights = [WEIGHTS[name] for name in self.methods]

    def run(self, deadline: float, max_calls: int) -> None:
        try:
            for _ in range(max_calls):
                if time.monotonic() >= deadline:
                    return
                method = self.rng.choices(self.methods, self.weights)[0]
                self.counter += 1
                self.calls[method]()
        finally:
            self.channel.close()

    def _call(
        self, method: str, stub: Callable[..., object], request: Message
    ) -> object:
        started = time.perf_counter()
        self.last_code = Code.OK
        try:
            response = stub(request, timeout=TIMEOUT)
        except grpc.RpcError as error:
            self.last_code = error.code()
            self.tally.record(
                method,
                error.code(),
                time.perf_counter() - started,
                f"{error.details()} ({type(request).__name__} "
                f"{text_format.MessageToString(request, as_one_line=True)})",
            )
            return None
        self.tally.record(method, Code.OK, time.perf_counter() - started, "")
        return response

    def _image_id(self) -> str:
        # Before anything exists: an id nobody created (NOT_FOUND is in the mix anyway).
        return self.shared.pick_image(self.rng) or "a0000000000000000000"

    def get(self) -> None:
        request = image_service_pb2.GetImageRequest(image_id=self._image_id())
        self._call("Get", self.images.Get, request)
        if self.last_code is Code.NOT_FOUND:
            self.shared.forget(request.image_id)

    def list(self) -> None:
        request = image_service_pb2.ListImagesRequest(
            folder_id=self.rng.choice(FOLDERS),
            page_size=self.rng.choice((0, 5, 20, 100)),
            order_by=self.rng.choice(("", "name", "created_at desc")),
            filter=self.rng.choice(("", 'name:"img-1"', "status = READY")),
        )
        for _ in range(3):  # at most three pages
            response = self._call("List", self.images.List, request)
            if not isinstance(response, image_service_pb2.ListImagesResponse):
                return
            if not response.next_page_token:
                return
            request.page_token = response.next_page_token

    def create(self) -> None:
        request = image_service_pb2.CreateImageRequest(
            folder_id=self.rng.choice(FOLDERS),
            name=self.rng.choice(NAMES),
            description=f"soak {self.counter}",
            uri="https://example.com/image.qcow2",
            labels={key: f"v{self.counter}" for key in self.rng.sample(LABEL_KEYS, 2)},
        )
        operation = self._call("Create", self.images.Create, request)
        if operation is not None:
            image = image_pb2.Image()
            operation.response.Unpack(image)  # type: ignore[attr-defined]
            self.shared.learn(image.id, operation.id)  # type: ignore[attr-defined]

    def update(self) -> None:
        request = image_service_pb2.UpdateImageRequest(image_id=self._image_id())
        paths = []
        if self.rng.random() < 0.3:
            request.name = self.rng.choice(NAMES)
            paths.append("name")
        if self.rng.random() < 0.6:
            request.description = f"updated {self.counter}"
            paths.append("description")
        key = self.rng.choice(LABEL_KEYS)
        if self.rng.random() < 0.7:
            request.labels[key] = f"u{self.counter}"
        paths.append(f"labels.{key}")  # set, or removed when the map lacks it
        request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=paths))
        operation = self._call("Update", self.images.Update, request)
        if operation is not None:
            self.shared.learn(operation_id=operation.id)  # type: ignore[attr-defined]
        elif self.last_code is Code.NOT_FOUND:
            self.shared.forget(request.image_id)

    def delete(self) -> None:
        request = image_service_pb2.DeleteImageRequest(image_id=self._image_id())
        operation = self._call("Delete", self.images.Delete, request)
        if operation is not None:
            self.shared.learn(operation_id=operation.id)  # type: ignore[attr-defined]
        if self.last_code in (Code.OK, Code.NOT_FOUND):  # deleted now, or before
            self.shared.forget(request.image_id)

    def list_operations(self) -> None:
        image_id = self.shared.pick_image(self.rng)
        if image_id is None:
            return
        request = image_service_pb2.ListImageOperationsRequest(
            image_id=image_id, page_size=self.rng.choice((0, 10, 100))
        )
        self._call("ListOperations", self.images.ListOperations, request)

    def get_operation(self) -> None:
        operation_id = self.shared.pick_operation(self.rng)
        if operation_id is None:
            return
        request = operation_service_pb2.GetOperationRequest(operation_id=operation_id)
        self._call("GetOperation", self.operations.Get, request)


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float  # since the load started
    rss_kib: int
    fds: int


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _integrity(db: str) -> str:
    if db == ":memory:":
        return "n/a (:memory:)"
    connection = sqlite3.connect(db)
    try:
        return ", ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
    finally:
        connection.close()


# --- the growth test --------------------------------------------------------------------------

GROWTH_FOLDER = "growth"
GROWTH_LIMIT = 2.0  # p50 when full / p50 when small
GROWTH_MEMORY_LIMIT = 0.25
EARLY = (2_000, 10_000)  # images in the folder: the early window


def run_growth(db: str, images: int, creators: int, say: Callable[[str], None]) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="growth-"))
    db = db or str(scratch / "growth.sqlite3")
    server = Server(db, scratch / "server.log")
    created = 0
    lock = threading.Lock()
    stop = threading.Event()
    # (images in the folder when the call was made, seconds), per kind of call.
    timings: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)
    samples: list[tuple[int, int]] = []  # (images, RSS KiB)
    errors: list[str] = []
    known: list[str] = []

    def record(kind: str, seconds: float) -> None:
        with lock:
            timings[kind].append((created, seconds))

    def create(index: int) -> None:
        nonlocal created
        channel = grpc.insecure_channel(server.address)
        stub = image_service_pb2_grpc.ImageServiceStub(channel)
        try:
            for number in itertools.count():
                with lock:
                    if created >= images or stop.is_set():
                        return
                request = image_service_pb2.CreateImageRequest(
                    folder_id=GROWTH_FOLDER,
                    name=f"g{index}-{number}-{random.randrange(10**6)}",
                    uri="https://example.com/image.qcow2",
                    labels={"n": str(number % 50)},
                )
                started = time.perf_counter()
                operation = stub.Create(request, timeout=TIMEOUT)
                record("Create", time.perf_counter() - started)
                image = image_pb2.Image()
                operation.response.Unpack(image)
                with lock:
                    created += 1
                    if number % 100 == 0:
                        known.append(image.id)
        except grpc.RpcError as error:
            errors.append(f"Create: {error.code().name} {error.details()}")
            stop.set()
        finally:
            channel.close()

    def read() -> None:
        channel = grpc.insecure_channel(server.address)
        stub = image_service_pb2_grpc.ImageServiceStub(channel)
        try:
            for number in itertools.count():
                if stop.is_set():
                    return
                order_by = ("", "name")[number % 2]
                request = image_service_pb2.ListImagesRequest(
                    folder_id=GROWTH_FOLDER, page_size=20, order_by=order_by
                )
                started = time.perf_counter()
                stub.List(request, timeout=TIMEOUT)
                record(f"List {order_by or 'by id'}", time.perf_counter() - started)
                with lock:
                    image_id = random.choice(known) if known else ""
                if image_id:
                    started = time.perf_counter()
                    stub.Get(
                        image_service_pb2.GetImageRequest(image_id=image_id),
                        timeout=TIMEOUT,
                    )
                    record("Get", time.perf_counter() - started)
                time.sleep(0.01)
        except grpc.RpcError as error:
            errors.append(f"List/Get: {error.code().name} {error.details()}")
            stop.set()
        finally:
            channel.close()

    say(f"growth: {images} images in one folder, {creators} creators, db {db}")
    threads = [threading.Thread(target=create, args=(n,)) for n in range(creators)]
    threads.append(threading.Thread(target=read))
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        deadline = started + 3600  # bounded, whatever happens
        while any(t.is_alive() for t in threads[:-1]) and time.monotonic() < deadline:
            time.sleep(2)
            rss, _ = server.sample()
            samples.append((created, rss))
            say(f"  {time.monotonic() - started:6.0f} s  {created:7d} images  "
                f"RSS {rss / 1024:7.1f} MiB")  # fmt: skip
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
        stop_code = server.stop()
    elapsed = time.monotonic() - started

    violations = list(errors[:5])
    if stop_code != 0:
        violations.append(f"the server did not stop cleanly on SIGTERM: {stop_code}")
    if created < images:
        violations.append(f"only {created} of {images} images were created")
    late_from = int(0.9 * images)
    lines = [
        "## Growth",
        "",
        f"`python bench/soak.py --growth` on {time.strftime('%Y-%m-%d')}: one folder grew to "
        f"{created} images in {elapsed:.0f} s (storage "
        f"{'SQLite' if db != ':memory:' else ':memory:'}).",
        "",
        f"| call | p50 ms with {EARLY[0]:,}–{EARLY[1]:,} images | p50 ms past {late_from:,} "
        "| ratio | limit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, values in sorted(timings.items()):
        early = [s for n, s in values if EARLY[0] <= n < EARLY[1]]
        late = [s for n, s in values if n >= late_from]
        if not early or not late:
            violations.append(
                f"{kind}: too few calls to compare ({len(early)}, {len(late)})"
            )
            continue
        ratio = _percentile(late, 0.5) / _percentile(early, 0.5)
        if ratio > GROWTH_LIMIT:
            violations.append(f"{kind}: p50 grew {ratio:.2f}x")
        lines.append(
            f"| {kind} | {_percentile(early, 0.5) * 1000:.2f} | "
            f"{_percentile(late, 0.5) * 1000:.2f} | {ratio:.2f} | ≤ {GROWTH_LIMIT:.0f}x |"
        )
    early_rss = [rss for n, rss in samples if EARLY[0] <= n < EARLY[1]]
    if samples and early_rss:
        memory = samples[-1][1] / statistics.median(early_rss) - 1
        lines += [
            "",
            f"Server RSS: {statistics.median(early_rss) / 1024:.1f} MiB with "
            f"{EARLY[0]:,}–{EARLY[1]:,} images, {samples[-1][1] / 1024:.1f} MiB at "
            f"{samples[-1][0]:,} ({memory:+.0%}).",
        ]
        if db != ":memory:" and memory > GROWTH_MEMORY_LIMIT:
            violations.append(
                f"RSS grew {memory:.0%} (limit {GROWTH_MEMORY_LIMIT:.0%})"
            )
    else:
        violations.append("no RSS sample in the early window")
    verdict = "PASS" if not violations else "FAIL"
    lines += ["", f"**{verdict}**."]
    if violations:
        lines += ["", "Violations:", "", *(f"- {item}" for item in violations)]
    print("\n".join(lines))
    if violations:
        say(f"growth: FAIL; the database and the server log are kept in {scratch}")
        return 1
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument("--minutes", type=float, help="how long to run (default 10)")
    duration.add_argument("--seconds", type=float, help="how long to run, in seconds")
    parser.add_argument("--clients", type=int, default=16, help="client threads")
    parser.add_argument(
        "--db",
        default="",
        help="SQLite file (default: a new temporary one) or :memory:",
    )
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument(
        "--seed", type=int, default=None, help="of the clients' choices"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="run the growth test: one folder grows past --images images",
    )
    parser.add_argument("--images", type=int, default=100_500)
    arguments = parser.parse_args(argv)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    if arguments.growth:
        return run_growth(arguments.db, arguments.images, 8, say)
    command = " ".join(
        ["python bench/soak.py", *(sys.argv[1:] if argv is None else argv)]
    )
    seconds = (
        arguments.seconds
        if arguments.seconds is not None
        else 60 * (arguments.minutes if arguments.minutes is not None else 10)
    )
    warm_up = min(60.0, 0.2 * seconds)
    seed = (
        arguments.seed
        if arguments.seed is not None
        else random.SystemRandom().randrange(2**32)
    )
    scratch = Path(tempfile.mkdtemp(prefix="soak-"))
    db = arguments.db or str(scratch / "soak.sqlite3")

    say(
        f"soak: {seconds:.0f} s, {arguments.clients} clients, db {db}, seed {seed}, "
        f"warm-up {warm_up:.0f} s, server log {scratch / 'server.log'}"
    )
    server = Server(db, scratch / "server.log")
    shared, tally = Shared(), Tally()
    samples: list[Sample] = []
    violations: list[str] = []
    stop_code: int | None = None
    try:
        clients = [
            Client(server.address, shared, tally, random.Random(f"{seed}:{index}"))
            for index in range(arguments.clients)
        ]
        started = time.monotonic()
        deadline = started + seconds
        threads = [
            threading.Thread(
                target=client.run,
                args=(deadline, int(seconds * 5000)),
                name=f"client-{index}",
                daemon=True,
            )
            for index, client in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        next_sample = started
        while True:
            now = time.monotonic()
            if now >= next_sample:
                rss, fds = server.sample()
                samples.append(Sample(now - started, rss, fds))
                calls = sum(sum(c.values()) for c in tally.codes.values())
                say(
                    f"  {now - started:6.0f} s  RSS {rss / 1024:7.1f} MiB  fds {fds:4d}  "
                    f"calls {calls}"
                )
                next_sample += arguments.sample_seconds
            if now >= deadline + TIMEOUT + 5 or not any(t.is_alive() for t in threads):
                break
            time.sleep(min(0.5, max(0.0, next_sample - time.monotonic())))
        elapsed = time.monotonic() - started
        if any(thread.is_alive() for thread in threads):
            violations.append("a client did not finish within its deadline")
        rss, fds = server.sample()
        samples.append(Sample(elapsed, rss, fds))
    finally:
        stop_code = server.stop()
    if stop_code != 0:
        violations.append(f"the server did not stop cleanly on SIGTERM: {stop_code}")
    log_errors = [
        line
        for line in server.log.read_text().splitlines()
        if " ERROR " in line or line.startswith("Traceback")
    ]
    if log_errors:
        violations.append(
            f"{len(log_errors)} errors in the server log, e.g. {log_errors[0]}"
        )
    integrity = _integrity(db)
    if integrity not in ("ok", "n/a (:memory:)"):
        violations.append(f"integrity_check: {integrity}")

    # Calls and codes.
    unexpected = {
        method: {
            code: count
            for code, count in codes.items()
            if code != "OK" and grpc.StatusCode[code] not in EXPECTED[method]
        }
        for method, codes in tally.codes.items()
    }
    for method, codes in unexpected.items():
        for code, count in codes.items():
            violations.append(f"{method}: {count} unexpected {code}")
    if tally.unexpected:
        violations.append(
            "first unexpected errors:\n    " + "\n    ".join(tally.unexpected)
        )
    total = sum(sum(codes.values()) for codes in tally.codes.values())
    if total == 0:
        violations.append("no call was made")

    # Memory and descriptors after the warm-up.
    after = [sample for sample in samples if sample.seconds >= warm_up]
    during = [sample for sample in samples if sample.seconds < warm_up]
    growth = 0.0
    baseline = after[0] if after else None
    if baseline is None or len(after) < 2:
        violations.append(
            f"too few samples after the warm-up ({len(after)}): run longer than "
            f"{warm_up + 2 * arguments.sample_seconds:.0f} s"
        )
    else:
        peak = max(sample.rss_kib for sample in after)
        growth = peak / baseline.rss_kib - 1
        if growth > MEMORY_GROWTH_LIMIT:
            violations.append(
                f"RSS grew {growth:.0%} after the warm-up "
                f"({baseline.rss_kib / 1024:.1f} -> {peak / 1024:.1f} MiB)"
            )
        fd_peak = max(sample.fds for sample in after)
        if fd_peak > baseline.fds:
            violations.append(
                f"open descriptors grew after the warm-up: {baseline.fds} -> {fd_peak}"
            )

    # The report.
    verdict = "PASS" if not violations else "FAIL"
    rate = total / elapsed if elapsed else 0.0
    lines = [
        "## Soak",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d')}: "
        f"{arguments.clients} clients, storage {'SQLite' if db != ':memory:' else ':memory:'}, "
        f"seed {seed}; {total} calls in {elapsed:.0f} s ({rate:.0f}/s). **{verdict}**.",
        "",
        "| call | calls | OK | expected errors | unexpected | p50 ms | p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method in WEIGHTS:
        codes = tally.codes.get(method, collections.Counter())
        expected = ", ".join(
            f"{code} {count}"
            for code, count in sorted(codes.items())
            if code != "OK" and grpc.StatusCode[code] in EXPECTED[method]
        )
        wrong = sum(unexpected.get(method, {}).values())
        latencies = tally.latencies.get(method, [])
        lines.append(
            f"| {method} | {sum(codes.values())} | {codes.get('OK', 0)} | {expected or '–'} | "
            f"{wrong} | {_percentile(latencies, 0.5) * 1000:.2f} | "
            f"{_percentile(latencies, 0.99) * 1000:.2f} |"
        )
    if baseline is not None:
        rss_values = [sample.rss_kib / 1024 for sample in samples]
        lines += [
            "",
            f"Server RSS: {rss_values[0]:.1f} MiB at the start, {baseline.rss_kib / 1024:.1f} MiB "
            f"after the {warm_up:.0f} s warm-up, {rss_values[-1]:.1f} MiB at the end, "
            f"{max(rss_values):.1f} MiB at most; growth after the warm-up {growth:+.1%} "
            f"(limit {MEMORY_GROWTH_LIMIT:+.0%}). Open descriptors: {samples[0].fds} at the "
            f"start, {baseline.fds} after the warm-up, {samples[-1].fds} at the end, "
            f"{max(sample.fds for sample in samples)} at most. Median RSS during the warm-up "
            f"{statistics.median(s.rss_kib for s in during) / 1024 if during else 0:.1f} MiB. "
            f"Clean stop: {'yes' if stop_code == 0 else 'no'}; integrity_check: {integrity}.",
        ]
    if violations:
        lines += ["", "Violations:", "", *(f"- {item}" for item in violations)]
    print("\n".join(lines))
    if violations:
        say(f"soak: FAIL; the database and the server log are kept in {scratch}")
        return 1
    if not arguments.db:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        (scratch / "server.log").unlink(missing_ok=True)
        scratch.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
