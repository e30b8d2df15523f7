"""Runs every benchmark and writes bench/RESULTS.md (what `make bench` does).

Each figure is measured against its baseline in the same run, alternating A B A B so that drift
(other load, thermal, caches) hits both sides alike; the report gives medians, minimum and
maximum, and the ratio of the medians.

    python bench/run.py [--quick] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import gc
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"
sys.path.insert(0, str(GENERATED))
sys.path.insert(0, str(ROOT / "bench"))

import grpc  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

from synthetic_api import write_api  # noqa: E402
from yandex.cloud.baremetal.v1alpha import (  # noqa: E402
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
)
from yandex.cloud.operation import (  # noqa: E402
    operation_pb2,
    operation_service_pb2,
    operation_service_pb2_grpc,
)

PYTHON = sys.executable
CORPUS = ROOT.parent / "shared" / "corpus" / "cloudapi-00e9ff0.tar.gz"
FILLED_FOLDER = (
    "bench"  # where bench/filled_server.py puts the images, and _update_load works
)


@dataclass
class Samples:
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cell(self, unit: str, scale: float = 1.0) -> str:
        low, mid, high = min(self.values), self.median, max(self.values)
        return f"{mid * scale:.3g} {unit} ({low * scale:.3g}–{high * scale:.3g})"


@dataclass
class Result:
    name: str
    baseline_name: str
    baseline: Samples
    ours: Samples
    unit: str
    target: str
    met: bool | None  # None: no target, the figure explains others
    ratio: float
    scale: float = 1.0
    note: str = ""


def alternate(
    rounds: int, a: Callable[[], float], b: Callable[[], float]
) -> tuple[Samples, Samples]:
    """Runs a and b in turns (A B A B ...), collecting each one's measurements."""
    first, second = Samples(), Samples()
    for _ in range(rounds):
        first.values.append(a())
        second.values.append(b())
    return first, second


# --- 1. the plugin --------------------------------------------------------------------------


def _include_dirs() -> list[str]:
    from generator.tree import include_dirs

    return include_dirs()


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, now (Linux /proc)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) >= root:  # descendants start after the root
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            parents[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = {root}
    while grown := {pid for pid, parent in parents.items() if parent in tree} - tree:
        tree |= grown
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
    return total * os.sysconf("SC_PAGE_SIZE")


def _timed_process(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time (s) of a process and its children (protoc and its plugin), with nothing else
    running here meanwhile: a memory sampler would take its share of the cores from a plugin
    that uses them all, and not from protoc, which uses one."""
    return _run_process(command, cwd, env, sample=False)[0]


def _peak_rss(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Peak RSS (MiB) of a process tree, in a run of its own (see `_timed_process`): the most
    the process and its children held at once, sampled every 10 ms. (Not wait4's ru_maxrss: a
    child counts the pages it shares with this process until it execs.)"""
    return _run_process(command, cwd, env, sample=True)[1]


def _run_process(
    command: list[str], cwd: Path, env: dict[str, str], sample: bool
) -> tuple[float, float]:
    # What the runs before wrote goes to disk first: ext4 allocates blocks as it writes them
    # back, seconds later, and that work would fall on this run (ours write twice the files).
    os.sync()
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        peak = 0
        done = threading.Event()

        def sampling() -> None:
            nonlocal peak
            while not done.wait(0.01):
                peak = max(peak, _tree_rss(process.pid))

        sampler = threading.Thread(target=sampling) if sample else None
        if sampler:
            sampler.start()
        _, status, _ = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        if sampler:
            sampler.join()
        if status != 0:
            errors.seek(0)
            raise RuntimeError(f"{command[:4]} failed: {errors.read().decode()}")
    return elapsed, peak / 2**20


def _times_and_memory(
    rounds: int,
    command: Callable[[list[str]], list[str]],
    flag_sets: tuple[list[str], list[str]],
    cwd: Path,
    env: dict[str, str],
) -> tuple[tuple[Samples, Samples], tuple[Samples, Samples]]:
    """Wall times and peak RSS of protoc with the baseline's flags and with ours, in turn,
    each round: the times from runs of their own, unsampled (see `_timed_process`)."""
    times = (Samples(), Samples())
    memory = (Samples(), Samples())
    for _ in range(rounds):
        for index, flags in enumerate(flag_sets):
            times[index].values.append(_timed_process(command(flags), cwd, env))
            memory[index].values.append(_peak_rss(command(flags), cwd, env))
    return times, memory


def _compiled_plugin() -> None:
    """The plugin's modules compiled to bytecode, as `pip install` leaves them: an editable
    install does not, and where PYTHONDONTWRITEBYTECODE is set (as on CI machines) every run
    would compile them from source again, a tenth of a second that no installed plugin
    spends."""
    compileall.compile_dir(ROOT / "generator", quiet=1)


def _output_directory(scratch: Path) -> Path:
    """A fresh directory for one run's output, kept until the bench ends (`_discard`): on this
    ext4 (no journal), a file created within seconds of thousands of deletions costs many times
    more, since the allocator steps over every recently freed inode (perf: `recently_deleted`).
    Had each run removed its output, the next run would pay for it, and ours writes twice the
    files."""
    return Path(tempfile.mkdtemp(dir=scratch))


# Scratch trees of the benchmarks that write many files, removed when the bench ends.
_DISCARDED: list[Path] = []


def _discard(scratch: Path) -> None:
    """Removes `scratch` when the bench ends, not now: the next benchmark's first runs would
    pay for these deletions (see `_output_directory`)."""
    _DISCARDED.append(scratch)


@atexit.register
def _remove_discarded() -> None:
    while _DISCARDED:
        shutil.rmtree(_DISCARDED.pop(), ignore_errors=True)


def bench_plugin(rounds: int, services: int) -> list[Result]:
    _compiled_plugin()
    scratch = Path(tempfile.mkdtemp(prefix="bench-plugin-"))
    files = write_api(scratch / "proto", services)
    env = {
        **os.environ,
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}",
    }
    includes = [
        f"-I{scratch / 'proto'}",
        f"-I{ROOT / 'proto'}",
        *(f"-I{d}" for d in _include_dirs()),
    ]

    def command(outputs: list[str]) -> list[str]:
        out = _output_directory(scratch)
        flags = [flag.format(out=out) for flag in outputs]
        return [PYTHON, "-m", "grpc_tools.protoc", *includes, *flags, *files]

    protoc = ["--python_out={out}", "--grpc_python_out={out}"]
    ours = ["--python-custom_out={out}"]  # all four targets
    times, memory = _times_and_memory(rounds, command, (protoc, ours), scratch, env)

    image_files = [
        "yandex/cloud/baremetal/v1alpha/image.proto",
        "yandex/cloud/baremetal/v1alpha/image_service.proto",
    ]
    image_includes = [f"-I{ROOT / 'proto'}", *(f"-I{d}" for d in _include_dirs())]

    def image_run(flags: list[str]) -> float:
        out = _output_directory(scratch)
        command = [
            PYTHON,
            "-m",
            "grpc_tools.protoc",
            *image_includes,
            *(f.format(out=out) for f in flags),
            *image_files,
        ]
        return _timed_process(command, scratch, env)

    image_protoc, image_ours = alternate(
        rounds, lambda: image_run(protoc), lambda: image_run(ours)
    )
    _discard(scratch)
    time_ratio = times[1].median / times[0].median
    memory_ratio = memory[1].median / memory[0].median
    return [
        Result(
            f"plugin, {services} services, all four targets: wall time",
            "protoc --python_out --grpc_python_out",
            times[0],
            times[1],
            "s",
            "≤ 3x protoc",
            time_ratio <= 3,
            time_ratio,
        ),
        Result(
            f"plugin, {services} services, all four targets: peak RSS",
            "protoc --python_out --grpc_python_out",
            memory[0],
            memory[1],
            "MiB",
            "≤ 2x protoc",
            memory_ratio <= 2,
            memory_ratio,
        ),
        Result(
            "plugin, the image API, all four targets: wall time",
            "protoc --python_out --grpc_python_out",
            image_protoc,
            image_ours,
            "s",
            "< 1 s",
            image_ours.median < 1,
            image_ours.median / image_protoc.median,
        ),
    ]


def bench_corpus(rounds: int) -> list[Result] | str:
    """The whole public API in one protoc run, all four targets, against protoc's own
    --python_out --grpc_python_out on the same files. A string saying why, without
    ../shared."""
    if not CORPUS.exists():
        return f"the whole public API: skipped, {CORPUS} is absent (a fresh clone)"
    _compiled_plugin()
    names = (
        "plugin, the whole public API (1,024 files), all four targets: wall time",
        "plugin, the whole public API, all four targets: peak RSS of protoc and plugin",
    )
    baseline = "protoc --python_out --grpc_python_out"
    scratch = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    with tarfile.open(CORPUS) as archive:
        archive.extractall(scratch / "api", filter="data")
    api = scratch / "api"
    files = sorted(
        str(path.relative_to(api)) for path in (api / "yandex").rglob("*.proto")
    )
    env = {
        **os.environ,
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}",
    }
    includes = [f"-I{api}", f"-I{api / 'third_party' / 'googleapis'}"]

    def command(outputs: list[str]) -> list[str]:
        out = _output_directory(scratch)
        flags = [flag.format(out=out) for flag in outputs]
        return [PYTHON, "-m", "grpc_tools.protoc", *includes, *flags, *files]

    protoc = ["--python_out={out}", "--grpc_python_out={out}"]
    ours = ["--python-custom_out={out}"]  # all four targets
    times, memory = _times_and_memory(rounds, command, (protoc, ours), api, env)
    # The floor for any plugin that writes the same files: a stand-in replaying our answer.
    response = scratch / "response.bin"
    recorder = _script(
        scratch / "record", f"exec protoc-gen-python-custom | tee {response}"
    )
    replay = _script(scratch / "replay", f"cat > /dev/null; exec cat {response}")
    _timed_process(
        command([f"--plugin=protoc-gen-python-custom={recorder}", *ours]), api, env
    )
    replay_flags = [f"--plugin=protoc-gen-python-custom={replay}", *ours]
    floor, again = Samples(), Samples()
    for _ in range(rounds):
        floor.values.append(_timed_process(command(replay_flags), api, env))
        again.values.append(_timed_process(command(ours), api, env))
    # In a process of its own: the model would stay in this one, and every process forked
    # from it after would count it.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        split = pool.apply(_plugin_split, (api, includes, files))
    _discard(scratch)
    time_ratio = times[1].median / times[0].median
    memory_ratio = memory[1].median / memory[0].median
    floor_ratio = again.median / floor.median
    return [
        Result(
            names[0],
            baseline,
            times[0],
            times[1],
            "s",
            "≤ 1.5x protoc",
            time_ratio <= 1.5,
            time_ratio,
            note=f"{_pairs(times[0], times[1])}; {split}",
        ),
        Result(
            names[1],
            baseline,
            memory[0],
            memory[1],
            "MiB",
            "≤ 2x protoc",
            memory_ratio <= 2,
            memory_ratio,
        ),
        Result(
            f"{names[0]} against the stand-in",
            "stand-in answering the same files",
            floor,
            again,
            "s",
            "≤ 1.5x stand-in",
            floor_ratio <= 1.5,
            floor_ratio,
            note=f"{_pairs(floor, again)}; the stand-in against {baseline}: "
            f"{floor.median / times[0].median:.2f}x",
        ),
    ]


def bench_docs(rounds: int) -> list[Result] | str:
    """The docs target over the whole public API against protoc's own --python_out on the same
    files: one protoc run each, same includes. Beside them, protoc with a stand-in plugin that
    answers the same pages at once: what protoc itself takes to send the request and write the
    pages. A string saying why, without ../shared."""
    if not CORPUS.exists():
        return f"docs over the whole public API: skipped, {CORPUS} is absent (a fresh clone)"
    _compiled_plugin()
    import tarfile

    from generator.docs_tree import import_roots, proto_files

    scratch = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    try:
        root = scratch / "cloudapi"
        with tarfile.open(CORPUS) as archive:
            archive.extractall(root, filter="data")
        imports = import_roots(root)
        files = proto_files(root, imports)
        includes = [
            f"-I{path}" for path in (root, *imports, *map(Path, _include_dirs()))
        ]
        env = {
            **os.environ,
            "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}",
        }

        def run(flags: list[str]) -> float:
            out = _output_directory(scratch)
            command = [
                PYTHON,
                "-m",
                "grpc_tools.protoc",
                *includes,
                *(flag.format(out=out) for flag in flags),
                *files,
            ]
            return _timed_process(command, scratch, env)

        # Our plugin once through a recorder for each set of faces, then a stand-in that
        # replays its answer: the floor for any plugin that writes those pages.
        def stand_in(faces: str) -> tuple[list[str], list[str]]:
            response = scratch / f"response-{faces}.bin"
            recorder = _script(
                scratch / f"record-{faces}",
                f"exec protoc-gen-python-custom | tee {response}",
            )
            replay = _script(
                scratch / f"replay-{faces}", f"cat > /dev/null; exec cat {response}"
            )
            flags = [
                "--python-custom_out={out}",
                f"--python-custom_opt=targets=docs,docs_api={faces}",
            ]
            run([f"--plugin=protoc-gen-python-custom={recorder}", *flags])
            return flags, [f"--plugin=protoc-gen-python-custom={replay}", *flags]

        grpc_flags, grpc_replay = stand_in("grpc")
        both_flags, both_replay = stand_in("grpc+rest")
        protoc, grpc, grpc_floor = Samples(), Samples(), Samples()
        both, both_floor = Samples(), Samples()
        for _ in range(rounds):
            protoc.values.append(run(["--python_out={out}"]))
            grpc.values.append(run(grpc_flags))
            grpc_floor.values.append(run(grpc_replay))
            both.values.append(run(both_flags))
            both_floor.values.append(run(both_replay))
        split = _docs_split(root, files, includes)
    finally:
        _discard(scratch)
    name = f"docs, the whole public API ({len(files)} files, one run)"
    grpc_ratio = grpc.median / protoc.median
    both_ratio = both.median / both_floor.median
    return [
        Result(
            f"{name}, gRPC pages: wall time",
            "protoc --python_out",
            protoc,
            grpc,
            "s",
            "≤ 1.5x protoc",
            grpc_ratio <= 1.5,
            grpc_ratio,
            note=f"{_pairs(protoc, grpc)}; {split}",
        ),
        Result(
            f"{name}, gRPC pages: protoc alone, the plugin replaced by one that answers the same pages at once",
            "protoc --python_out",
            protoc,
            grpc_floor,
            "s",
            "—",
            None,
            grpc_floor.median / protoc.median,
        ),
        Result(
            f"{name}, gRPC and REST pages (the default): wall time against the stand-in",
            "stand-in answering the same pages",
            both_floor,
            both,
            "s",
            "≤ 1.5x stand-in",
            both_ratio <= 1.5,
            both_ratio,
            note=(
                f"{_pairs(both_floor, both)}; against protoc --python_out: "
                f"{both.median / protoc.median:.2f}x; the REST pages cost "
                f"{both.median - grpc.median:.2f} s over the gRPC ones "
                f"({both_floor.median - grpc_floor.median:.2f} s of it protoc writing them)"
            ),
        ),
    ]


def _pairs(protoc: Samples, ours: Samples) -> str:
    """Each run of ours against protoc's run of the same round: how much the machine's speed
    moved within the series."""
    ratios = ", ".join(f"{b / a:.2f}" for a, b in zip(protoc.values, ours.values))
    return f"each run of ours over the protoc run of its round: {ratios}"


def _plugin_split(api: Path, includes: list[str], files: list[str]) -> str:
    """Where the plugin's time goes on the whole API, measured in this process (CPU time; the
    cycle collector off, as in the plugin's process)."""
    from google.protobuf import descriptor_pb2
    from google.protobuf.compiler import plugin_pb2

    from generator import parallel, plugin
    from generator.model import build_api
    from generator.options import parse_options

    with tempfile.TemporaryDirectory() as scratch:
        descriptors = Path(scratch) / "set.pb"
        command = [
            PYTHON,
            "-m",
            "grpc_tools.protoc",
            *includes,
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={descriptors}",
            *files,
        ]
        subprocess.run(command, cwd=api, check=True)
        data = plugin_pb2.CodeGeneratorRequest(
            file_to_generate=files,
            proto_file=descriptor_pb2.FileDescriptorSet.FromString(
                descriptors.read_bytes()
            ).file,
        ).SerializeToString()
    gc.disable()  # this process ends after
    phases: dict[str, float] = {}

    def timed(phase: str, work: Callable[[], Any]) -> Any:
        started = time.process_time()
        result = work()
        phases[phase] = time.process_time() - started
        return result

    request = timed("request", lambda: plugin_pb2.CodeGeneratorRequest.FromString(data))
    model = timed(
        "model", lambda: build_api(request.proto_file, request.file_to_generate)
    )
    reformatted: list[str] = []
    python = timed(
        "server, client, fieldmask",
        lambda: plugin.render_targets(
            model, parse_options("targets=server+client+fieldmask"), reformatted
        ),
    )
    docs = timed(
        "docs", lambda: plugin.render_targets(model, parse_options("targets=docs"))
    )

    def respond() -> None:
        # As the plugin writes it, a file at a time.
        with open(os.devnull, "wb") as sink:
            plugin.write_response(sink, dict(sorted({**python, **docs}.items())))

    timed("response", respond)
    spent = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in phases.items())
    # As the plugin renders: all targets, the jobs shared between processes (wall time).
    jobs = plugin.output_jobs(model, parse_options(""))
    processes = parallel.auto_processes(len(jobs)) if parallel.can_fork() else 1
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        plugin.answer_jobs(jobs, processes, sink.write)
        shared = time.perf_counter() - started
    return (
        f"the plugin in process (CPU): {spent}; all four targets rendered as the plugin "
        f"does, in {processes} processes: {shared:.2f} s wall; Python files black had to "
        f"reformat: {len(reformatted)} of "
        f"{sum(name.endswith(('.py', '.pyi')) for name in python)}"
    )


def _script(path: Path, command: str) -> Path:
    path.write_text(f"#!/bin/sh\n{command}\n")
    path.chmod(0o755)
    return path


class _Counted:
    """A binary file's writes, counted."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return int(self.sink.write(data))


def _docs_split(root: Path, files: list[str], includes: list[str]) -> str:
    """Where the plugin's time goes on the same files, measured in process once."""
    from google.protobuf import descriptor_pb2
    from google.protobuf.compiler import plugin_pb2
    from grpc_tools import protoc

    from generator.docs_config import DocsConfig
    from generator.docs_faces import Reference
    from generator.docs_formats import docs_format
    from generator.model import build_api
    from generator.plugin import write_response

    descriptors = root.parent / "descriptors.pb"
    arguments = ["protoc", *includes, f"--descriptor_set_out={descriptors}"]
    arguments += ["--include_imports", "--include_source_info", *files]
    assert protoc.main(arguments) == 0
    data = plugin_pb2.CodeGeneratorRequest(
        file_to_generate=files,
        proto_file=descriptor_pb2.FileDescriptorSet.FromString(
            descriptors.read_bytes()
        ).file,
    ).SerializeToString()
    clock = time.perf_counter
    gc.disable()  # as in the plugin's process (plugin.main)
    started = clock()
    request = plugin_pb2.CodeGeneratorRequest.FromString(data)
    parsed = clock()
    api = build_api(request.proto_file, request.file_to_generate)
    modelled = clock()
    reference = Reference(api, DocsConfig(), docs_format("classic"), "grpc+rest")
    services = reference.documented_services()
    grpc_pages = [reference.grpc.page(s, m) for s in services for m in s.methods]
    grpc_viewed = clock()
    texts = {page.path: reference.grpc.render(page) for page in grpc_pages}
    grpc_rendered = clock()
    rest_pages = [
        reference.rest.page(s, m) for s in services for m in reference.rest_methods(s)
    ]
    rest_viewed = clock()
    texts.update((page.path, reference.rest.render(page)) for page in rest_pages)
    rendered = clock()
    pages = grpc_pages + rest_pages
    # As the plugin writes it, a file at a time; to /dev/null, not to a growing buffer,
    # whose copies as it grows would be counted as the response's cost.
    with open(os.devnull, "wb") as null:
        sink = _Counted(null)
        write_response(sink, texts)  # type: ignore[arg-type]
    serialized = clock()
    gc.enable()
    return (
        f"in process, {len(pages)} pages, {sink.size / 2**20:.0f} MiB of response: "
        f"request {parsed - started:.2f} s, model {modelled - parsed:.2f} s, "
        f"gRPC view {grpc_viewed - modelled:.2f} s, gRPC templates "
        f"{grpc_rendered - grpc_viewed:.2f} s, REST view {rest_viewed - grpc_rendered:.2f} s, "
        f"REST templates {rendered - rest_viewed:.2f} s, response {serialized - rendered:.2f} s"
    )


# --- 2. server throughput ---------------------------------------------------------------------


class Server:
    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=GENERATED,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"server did not start: {line!r}")
        self.address = line.removeprefix("listening on ")

    def usage(self) -> tuple[float, int]:
        """CPU seconds used so far and context switches of all threads (Linux /proc)."""
        proc = Path("/proc") / str(self.process.pid)
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        switches = 0
        for task in (proc / "task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:
                    switches += int(line.split()[1])
        return cpu, switches

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _update_load(
    address: str, clients: int, seconds: float
) -> tuple[float, list[float]]:
    """`clients` threads updating their own image as fast as they can: calls/s, latencies."""
    channel = grpc.insecure_channel(address)
    stub = image_service_pb2_grpc.ImageServiceStub(channel)
    images = []
    for index in range(clients):
        operation = stub.Create(
            image_service_pb2.CreateImageRequest(
                folder_id=FILLED_FOLDER, name=f"load-{index}-{time.time_ns()}", uri="u"
            )
        )
        image = image_pb2.Image()
        operation.response.Unpack(image)
        images.append(image.id)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        counter = 0
        mask = field_mask_pb2.FieldMask(paths=["description", "labels"])
        while time.perf_counter() < deadline:
            counter += 1
            request = image_service_pb2.UpdateImageRequest(
                image_id=images[index],
                description=f"update {counter}",
                labels={"n": str(counter)},
                update_mask=mask,
            )
            started = time.perf_counter()
            stub.Update(request, timeout=30)
            latencies[index].append(time.perf_counter() - started)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    channel.close()
    flat = [value for per_thread in latencies for value in per_thread]
    return len(flat) / elapsed, flat


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_server(rounds: int, seconds: float) -> list[Result]:
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-server-"))
    for storage, target, limit in (
        (":memory:", "≥ 0.8x baseline", 0.8),
        ("sqlite", "≥ 0.5x baseline", 0.5),
    ):
        baseline, ours = Samples(), Samples()
        latency: dict[str, list[float]] = {"baseline": [], "ours": []}
        cpu: dict[str, list[float]] = {"baseline": [], "ours": []}
        switches: dict[str, list[float]] = {"baseline": [], "ours": []}

        def measure(command: list[str], into: Samples, key: str) -> None:
            server = Server(command)
            try:
                cpu_before, switches_before = server.usage()
                rate, values = _update_load(server.address, 8, seconds)
                cpu_after, switches_after = server.usage()
            finally:
                server.stop()
            into.values.append(rate)
            latency[key].extend(values)
            cpu[key].append((cpu_after - cpu_before) / len(values))
            switches[key].append((switches_after - switches_before) / len(values))

        for round_ in range(rounds):
            db = (
                ":memory:"
                if storage == ":memory:"
                else str(scratch / f"bench-{round_}.sqlite3")
            )
            measure(
                [PYTHON, str(ROOT / "bench" / "baseline_server.py"), "--port", "0"],
                baseline,
                "baseline",
            )
            measure([PYTHON, "api_server.py", "--port", "0", "--db", db], ours, "ours")
        ratio = ours.median / baseline.median
        note = (
            f"p50/p99 latency: baseline {_percentile(latency['baseline'], 0.5) * 1000:.2f}/"
            f"{_percentile(latency['baseline'], 0.99) * 1000:.2f} ms, "
            f"ours {_percentile(latency['ours'], 0.5) * 1000:.2f}/{_percentile(latency['ours'], 0.99) * 1000:.2f} ms; "
            f"server CPU per call: baseline {statistics.median(cpu['baseline']) * 1e6:.0f} µs, "
            f"ours {statistics.median(cpu['ours']) * 1e6:.0f} µs; "
            f"context switches per call: baseline {statistics.median(switches['baseline']):.1f}, "
            f"ours {statistics.median(switches['ours']):.1f}"
        )
        results.append(
            Result(
                f"server, Update with 8 clients, storage {storage}: throughput",
                "hand-written servicer on a dict",
                baseline,
                ours,
                "calls/s",
                target,
                ratio >= limit,
                ratio,
                note=note,
            )
        )
    shutil.rmtree(scratch)
    return results


def bench_calibration(rounds: int, seconds: float) -> list[Result]:
    """The baseline server against itself plus a busy loop in each Update: how much
    throughput a given amount of Python work per call costs in grpcio's threaded server.
    """
    plain = Samples()
    loaded = {work: Samples() for work in (20, 40, 80)}
    command = [PYTHON, str(ROOT / "bench" / "baseline_server.py"), "--port", "0"]

    def rate(extra: list[str]) -> float:
        server = Server(command + extra)
        try:
            return _update_load(server.address, 8, seconds)[0]
        finally:
            server.stop()

    for _ in range(rounds):
        plain.values.append(rate([]))
        for work, samples in loaded.items():
            samples.values.append(rate(["--work-us", str(work)]))
    return [
        Result(
            f"calibration: the baseline plus {work} µs of Python per Update, storage :memory:",
            "the baseline",
            plain,
            samples,
            "calls/s",
            "—",
            None,
            samples.median / plain.median,
        )
        for work, samples in loaded.items()
    ]


class _Context(grpc.ServicerContext):
    """Just enough of a servicer context to call an rpc method directly."""

    def invocation_metadata(self):  # type: ignore[no-untyped-def]
        return ()

    def abort(self, code, details):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{code}: {details}")

    def abort_with_status(self, status):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{status.code}: {status.details}")

    # The other abstract methods, which an Update does not use.
    add_callback = auth_context = cancel = is_active = peer = None  # type: ignore[assignment]
    peer_identities = peer_identity_key = send_initial_metadata = None  # type: ignore[assignment]
    set_code = set_details = set_trailing_metadata = time_remaining = None  # type: ignore[assignment]


def bench_handler(rounds: int, calls: int) -> Result:
    """One Update's work without gRPC: the servicer method called in this process."""
    from baseline_server import BaselineImages
    from yc_runtime.service import Runtime
    from yc_runtime.storage_memory import MemoryStorage
    from yandex.cloud.baremetal.v1alpha.image_service_server import ImageService

    context = _Context()
    mask = field_mask_pb2.FieldMask(paths=["description", "labels"])

    def timer(servicer: Any) -> Callable[[], float]:
        operation = servicer.Create(
            image_service_pb2.CreateImageRequest(
                folder_id="bench", name="handler", uri="u"
            ),
            context,
        )
        image = image_pb2.Image()
        operation.response.Unpack(image)
        requests = [
            image_service_pb2.UpdateImageRequest(
                image_id=image.id,
                description=f"update {index}",
                labels={"n": str(index)},
                update_mask=mask,
            )
            for index in range(calls)
        ]

        def run() -> float:
            started = time.perf_counter()
            for request in requests:
                servicer.Update(request, context)
            return (time.perf_counter() - started) / calls

        return run

    baseline, ours = alternate(
        rounds,
        timer(BaselineImages()),
        timer(ImageService(Runtime(MemoryStorage()))),
    )
    return Result(
        "server, one Update's work in process (no gRPC), storage :memory:",
        "the baseline servicer",
        baseline,
        ours,
        "µs",
        "—",
        None,
        ours.median / baseline.median,
        scale=1e6,
    )


# --- 2b. cost that follows the page: List and Update as one folder grows ------------------------

LIST_SIZES = (1_000, 10_000, 100_000)


def _filled_server(db: str, images: int) -> Server:
    return Server(
        [
            PYTHON,
            str(ROOT / "bench" / "filled_server.py"),
            "--db",
            db,
            "--images",
            str(images),
            "--folder",
            FILLED_FOLDER,
        ]
    )


def _list_p50(address: str, order_by: str, calls: int) -> float:
    """Median seconds of a List of 20 in the filled folder, paging on from page to page."""
    with grpc.insecure_channel(address) as channel:
        stub = image_service_pb2_grpc.ImageServiceStub(channel)
        request = image_service_pb2.ListImagesRequest(
            folder_id=FILLED_FOLDER, page_size=20, order_by=order_by
        )
        latencies = []
        for number in range(calls + 10):  # the first ten warm up
            started = time.perf_counter()
            response = stub.List(request, timeout=30)
            if number >= 10:
                latencies.append(time.perf_counter() - started)
            assert len(response.images) == 20, "the folder was not filled"
            request.page_token = response.next_page_token
        return statistics.median(latencies)


def bench_list_and_growth(rounds: int, calls: int, seconds: float) -> list[Result]:
    """List p50 (page_size 20) with 1,000, 10,000 and 100,000 images in the folder, default
    order and `order_by name`, on both storages, over gRPC; and Update throughput (8 clients,
    in the same folder) with 100,000 images against an empty store. The servers of each storage
    run side by side and are measured in turns."""
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-list-"))
    for storage in (":memory:", "sqlite"):
        servers: dict[int, Server] = {}
        try:
            for size in (0, *LIST_SIZES):
                db = storage if storage == ":memory:" else str(scratch / f"{size}.db")
                servers[size] = _filled_server(db, size)
            for order_by in ("", "name"):
                p50 = {size: Samples() for size in LIST_SIZES}
                for _ in range(rounds):
                    for size in LIST_SIZES:
                        p50[size].values.append(
                            _list_p50(servers[size].address, order_by, calls)
                        )
                small, large = p50[LIST_SIZES[0]], p50[LIST_SIZES[-1]]
                ratio = large.median / small.median
                results.append(
                    Result(
                        f"server, List p50 (page_size 20, {order_by or 'default'} order, "
                        f"one folder), storage {storage}: 1,000 → 100,000 images",
                        "the same List at 1,000 images",
                        small,
                        large,
                        "ms",
                        "≤ 2x",
                        ratio <= 2,
                        ratio,
                        scale=1000,
                        note=(
                            f"p50 at 1,000 / 10,000 / 100,000 images: "
                            + " / ".join(
                                f"{p50[size].median * 1000:.2f} ms"
                                for size in LIST_SIZES
                            )
                        ),
                    )
                )
            empty, full = alternate(
                rounds,
                lambda: _update_load(servers[0].address, 8, seconds)[0],
                lambda: _update_load(servers[LIST_SIZES[-1]].address, 8, seconds)[0],
            )
            ratio = full.median / empty.median
            results.append(
                Result(
                    f"server, Update with 8 clients in a folder of 100,000 images, "
                    f"storage {storage}: throughput",
                    "the same on an empty store",
                    empty,
                    full,
                    "calls/s",
                    "≥ 0.9x empty",
                    ratio >= 0.9,
                    ratio,
                )
            )
        finally:
            for server in servers.values():
                server.stop()
    shutil.rmtree(scratch)
    return results


# --- 2c. scaling out: several processes, and PostgreSQL ------------------------------------


def _postgres() -> Any:
    """A throwaway PostgreSQL cluster (tests/postgres.py), removed at exit; or why there is
    none."""
    sys.path.insert(0, str(ROOT / "tests"))
    import postgres

    availability = postgres.available()
    if not availability.ok:
        return availability.reason
    cluster = postgres.PostgresCluster()
    cluster.start()
    atexit.register(cluster.cleanup)
    return cluster


def _new_images(address: str, count: int) -> list[str]:
    """`count` images created through the server, for Update load."""
    with grpc.insecure_channel(address) as channel:
        stub = image_service_pb2_grpc.ImageServiceStub(channel)
        ids = []
        for index in range(count):
            operation = stub.Create(
                image_service_pb2.CreateImageRequest(
                    folder_id=FILLED_FOLDER, name=f"load-{index}", uri="u"
                ),
                timeout=30,
            )
            image = image_pb2.Image()
            operation.response.Unpack(image)
            ids.append(image.id)
    return ids


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (a supervisor's workers)."""
    proc = Path("/proc") / str(pid)
    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in (proc / "task").iterdir():
        for child in (task / "children").read_text().split():
            seconds += _tree_cpu(int(child))
    return seconds


def _machine_cpu() -> tuple[float, float]:
    """(all, idle) CPU seconds of the machine so far, every core (Linux /proc/stat)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    clock = os.sysconf("SC_CLK_TCK")
    return sum(ticks) / clock, (ticks[3] + ticks[4]) / clock


@dataclass
class Throughput:
    """Calls/s of a load, with the CPU each call cost the server and the whole machine
    (server, load clients and anything else running)."""

    rate: float
    server_ms: float
    machine_ms: float


def _scaled_rate(command: list[str], seconds: float) -> Throughput:
    """Update throughput of the server `command` starts, 8 clients in 2 load processes."""
    server = Server(command)
    try:
        images = _new_images(server.address, 8)
        server_before, (all_before, idle_before) = (
            _tree_cpu(server.process.pid),
            _machine_cpu(),
        )
        rate, latencies = _update_throughput("grpc", server.address, images, seconds)
        server_cpu = _tree_cpu(server.process.pid) - server_before
        all_after, idle_after = _machine_cpu()
    finally:
        server.stop()
    busy = (all_after - all_before) - (idle_after - idle_before)
    calls = len(latencies)
    return Throughput(rate, server_cpu / calls * 1000, busy / calls * 1000)


SCALING = (  # storage, processes, target against the hand-written servicer
    ("sqlite", 1, None),
    ("sqlite", 2, 1.0),
    ("postgresql", 1, None),
    ("postgresql", 2, 0.8),
)


def bench_scaling(rounds: int, seconds: float, calls: int) -> list[Result] | str:
    """Update throughput (8 clients in load processes of their own) of the generated server
    at 1 and 2 processes over SQLite and over PostgreSQL, against the hand-written servicer in
    one process; and List p50 over PostgreSQL at 1,000 and 100,000 images."""
    cluster = _postgres()
    if isinstance(cluster, str):
        return f"scaling out: {cluster}"
    scratch = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    runs: dict[tuple[str, int], list[Throughput]] = {
        key: [] for key in [("baseline", 1)] + [(s, p) for s, p, _ in SCALING]
    }
    for round_ in range(rounds):
        runs["baseline", 1].append(
            _scaled_rate(
                [PYTHON, str(ROOT / "bench" / "baseline_server.py"), "--port", "0"],
                seconds,
            )
        )
        for storage, processes, _ in SCALING:
            db = (
                str(scratch / f"{round_}-{processes}.sqlite3")
                if storage == "sqlite"
                else cluster.create_database()
            )
            command = [PYTHON, "api_server.py", "--port", "0", "--db", db]
            command += ["--processes", str(processes)]
            runs[storage, processes].append(_scaled_rate(command, seconds))
    rates = {key: Samples([run.rate for run in found]) for key, found in runs.items()}
    baseline = rates["baseline", 1]

    def cpu(key: tuple[str, int]) -> str:
        """What a call cost in CPU, and the rate the machine's cores would allow at that
        cost with nothing idle."""
        server = statistics.median(run.server_ms for run in runs[key])
        machine = statistics.median(run.machine_ms for run in runs[key])
        ceiling = (os.cpu_count() or 1) * 1000 / machine
        return (
            f"CPU per Update: server {server:.2f} ms, whole machine {machine:.2f} ms "
            f"(at most {ceiling:,.0f}/s on {os.cpu_count()} cores at that cost)"
        )

    results = []
    for storage, processes, target in SCALING:
        ours = rates[storage, processes]
        ratio = ours.median / baseline.median
        results.append(
            Result(
                f"server, Update with 8 clients in load processes, storage {storage}, "
                f"{processes} process{'es' if processes > 1 else ''}: throughput",
                "hand-written servicer on a dict, one process",
                baseline,
                ours,
                "calls/s",
                f"≥ {target}x baseline" if target else "—",
                ratio >= target if target else None,
                ratio,
                note=f"ours: {cpu((storage, processes))}; the hand-written servicer: "
                f"{cpu(('baseline', 1))}",
            )
        )
    for storage in ("sqlite", "postgresql"):
        one, two = rates[storage, 1], rates[storage, 2]
        ratio = two.median / one.median
        results.append(
            Result(
                f"server, Update with 8 clients, storage {storage}: 2 processes",
                "the same server in 1 process",
                one,
                two,
                "calls/s",
                "≥ 1.6x",
                ratio >= 1.6,
                ratio,
            )
        )
    sizes = (LIST_SIZES[0], LIST_SIZES[-1])
    servers = {size: _filled_server(cluster.create_database(), size) for size in sizes}
    try:
        p50 = {size: Samples() for size in sizes}
        for _ in range(rounds):
            for size in sizes:
                p50[size].values.append(_list_p50(servers[size].address, "", calls))
    finally:
        for server in servers.values():
            server.stop()
    ratio = p50[sizes[1]].median / p50[sizes[0]].median
    results.append(
        Result(
            "server, List p50 (page_size 20, default order, one folder), storage "
            "postgresql: 1,000 → 100,000 images",
            "the same List at 1,000 images",
            p50[sizes[0]],
            p50[sizes[1]],
            "ms",
            "≤ 2x",
            ratio <= 2,
            ratio,
            scale=1000,
        )
    )
    shutil.rmtree(scratch)
    return results


# --- 3. field masks ---------------------------------------------------------------------------


def bench_fieldmask(rounds: int, iterations: int) -> Result:
    from yandex.cloud.baremetal.v1alpha.image_service_fieldmask import (
        UpdateImageRequestMask,
    )

    labels = {f"key-{index}": f"value-{index}" for index in range(10)}
    request = image_service_pb2.UpdateImageRequest(
        image_id="i" * 20, name="new-name", description="new", labels=labels
    )
    mask = field_mask_pb2.FieldMask(paths=["name", "description", "labels"])
    request.update_mask.CopyFrom(mask)
    source = image_pb2.Image(name="new-name", description="new", labels=labels)
    current = image_pb2.Image(
        id="i" * 20, folder_id="f", name="old", description="old", labels={"a": "b"}
    )

    def ours() -> float:
        started = time.perf_counter()
        for _ in range(iterations):
            target = image_pb2.Image()
            target.CopyFrom(current)
            UpdateImageRequestMask.apply(request, target, mask)
        return iterations / (time.perf_counter() - started)

    def merge_message() -> float:
        started = time.perf_counter()
        for _ in range(iterations):
            target = image_pb2.Image()
            target.CopyFrom(current)
            mask.MergeMessage(
                source, target, replace_message_field=True, replace_repeated_field=True
            )
        return iterations / (time.perf_counter() - started)

    baseline, measured = alternate(rounds, merge_message, ours)
    ratio = measured.median / baseline.median
    return Result(
        "field masks: apply name, description, labels (10 keys) to an image",
        "FieldMask.MergeMessage(replace_repeated_field=True)",
        baseline,
        measured,
        "applies/s",
        "≥ 1.0x MergeMessage",
        ratio >= 1.0,
        ratio,
    )


# --- 3b. the REST face ----------------------------------------------------------------------

IMAGES_PATH = "/baremetal/v1alpha/images"


def _rest_call(
    connection: Any, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
    return json.loads(payload)  # type: ignore[no-any-return]


def _load_process(
    face: str, address: str, image_ids: list[str], seconds: float
) -> list[float]:
    """One load process: a thread per image, Updates as fast as they go, over `face`; the
    latencies. In a process of its own (spawned), so that the client is not the limit.
    """
    import http.client

    latencies: list[list[float]] = [[] for _ in image_ids]
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        counter = 0
        if face == "grpc":
            # A connection of its own, as separate clients have (grpc would otherwise share
            # one between the channels of a process): the server's processes share the
            # connections, not the calls of one.
            channel = grpc.insecure_channel(
                address, options=[("grpc.use_local_subchannel_pool", 1)]
            )
            stub = image_service_pb2_grpc.ImageServiceStub(channel)
            mask = field_mask_pb2.FieldMask(paths=["description", "labels"])
        else:
            host, port = address.rsplit(":", 1)
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.perf_counter() < deadline:
            counter += 1
            started = time.perf_counter()
            if face == "grpc":
                stub.Update(
                    image_service_pb2.UpdateImageRequest(
                        image_id=image_ids[index],
                        description=f"update {counter}",
                        labels={"n": str(counter)},
                        update_mask=mask,
                    ),
                    timeout=30,
                )
            else:
                _rest_call(
                    connection,
                    "PATCH",
                    f"{IMAGES_PATH}/{image_ids[index]}",
                    {
                        "updateMask": "description,labels",
                        "description": f"update {counter}",
                        "labels": {"n": str(counter)},
                    },
                )
            latencies[index].append(time.perf_counter() - started)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(image_ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [value for per_thread in latencies for value in per_thread]


def _update_throughput(
    face: str, address: str, image_ids: list[str], seconds: float, processes: int = 2
) -> tuple[float, list[float]]:
    """Updates/s with the images' clients spread over `processes` spawned processes."""
    shares = [image_ids[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        started = time.perf_counter()
        results = pool.starmap(
            _load_process, [(face, address, share, seconds) for share in shares]
        )
        elapsed = time.perf_counter() - started
    flat = [value for result in results for value in result]
    # The pool's start is not load: count the calls over the load's own span.
    return len(flat) / min(elapsed, seconds + 0.5), flat


def bench_rest(rounds: int, seconds: float, calls: int) -> list[Result]:
    """The REST face against the gRPC face of the same server (in memory): Get p50, one
    client at a time; Update throughput with 8 clients in two load processes of their own.
    """
    import http.client

    get_grpc, get_rest = Samples(), Samples()
    update_grpc, update_rest = Samples(), Samples()
    latency: dict[str, list[float]] = {"grpc": [], "rest": []}
    cpu: dict[str, list[float]] = {"grpc": [], "rest": []}
    for _ in range(rounds):
        server = Server(
            [
                PYTHON,
                "api_server.py",
                "--port",
                "0",
                "--db",
                ":memory:",
                "--http-port",
                "0",
            ]
        )
        try:
            assert server.process.stdout is not None
            rest_address = (
                server.process.stdout.readline().strip().removeprefix("REST on ")
            )
            host, port = rest_address.rsplit(":", 1)
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            channel = grpc.insecure_channel(server.address)
            stub = image_service_pb2_grpc.ImageServiceStub(channel)
            image_ids = []
            for index in range(8):
                operation = _rest_call(
                    connection,
                    "POST",
                    IMAGES_PATH,
                    {"folderId": FILLED_FOLDER, "name": f"rest-{index}", "uri": "u"},
                )
                image_ids.append(operation["metadata"]["imageId"])
            request = image_service_pb2.GetImageRequest(image_id=image_ids[0])
            for face, into in (("grpc", get_grpc), ("rest", get_rest)):
                values = []
                for _ in range(calls):
                    started = time.perf_counter()
                    if face == "grpc":
                        stub.Get(request, timeout=30)
                    else:
                        _rest_call(connection, "GET", f"{IMAGES_PATH}/{image_ids[0]}")
                    values.append(time.perf_counter() - started)
                into.values.append(_percentile(values, 0.5))
            channel.close()
            connection.close()
            for face, into, address in (
                ("grpc", update_grpc, server.address),
                ("rest", update_rest, rest_address),
            ):
                cpu_before, _ = server.usage()
                rate, values = _update_throughput(face, address, image_ids, seconds)
                cpu_after, _ = server.usage()
                into.values.append(rate)
                latency[face].extend(values)
                cpu[face].append((cpu_after - cpu_before) / max(1, len(values)))
        finally:
            server.stop()
    get_ratio = get_rest.median / get_grpc.median
    update_ratio = update_rest.median / update_grpc.median
    note = (
        f"Update p50/p99: gRPC {_percentile(latency['grpc'], 0.5) * 1000:.2f}/"
        f"{_percentile(latency['grpc'], 0.99) * 1000:.2f} ms, REST "
        f"{_percentile(latency['rest'], 0.5) * 1000:.2f}/"
        f"{_percentile(latency['rest'], 0.99) * 1000:.2f} ms; server CPU per Update: gRPC "
        f"{statistics.median(cpu['grpc']) * 1e6:.0f} µs, REST "
        f"{statistics.median(cpu['rest']) * 1e6:.0f} µs"
    )
    return [
        Result(
            "server, REST Get p50 (one client, keep-alive), storage :memory:",
            "gRPC Get p50 on the same server",
            get_grpc,
            get_rest,
            "ms",
            "≤ 1.5x gRPC",
            get_ratio <= 1.5,
            get_ratio,
            scale=1000,
        ),
        Result(
            "server, REST Update with 8 clients (2 load processes), storage :memory:: throughput",
            "gRPC Update with 8 clients on the same server",
            update_grpc,
            update_rest,
            "calls/s",
            "≥ 0.7x gRPC",
            update_ratio >= 0.7,
            update_ratio,
            note=note,
        ),
    ]


# --- 4. the client --------------------------------------------------------------------------


def bench_client(rounds: int) -> Result:
    from yandex.cloud.baremetal.v1alpha.image_service_client import ImageServiceClient

    server = Server(
        [
            PYTHON,
            "api_server.py",
            "--port",
            "0",
            "--db",
            ":memory:",
            "--operation-delay",
            "0.3",
        ]
    )
    try:
        client = ImageServiceClient(server.address)
        channel = grpc.insecure_channel(server.address)
        images = image_service_pb2_grpc.ImageServiceStub(channel)
        operations = operation_service_pb2_grpc.OperationServiceStub(channel)

        def lag(done: operation_pb2.Operation) -> float:
            """From the operation finishing (its modified_at) until the caller has the result."""
            return time.time() - done.modified_at.ToNanoseconds() / 1e9

        def ours() -> float:
            operation = client.create("bench", uri="u")
            operation.result(timeout=30)
            return lag(operation.operation)

        def sdk_style() -> float:
            # The official SDK's wait: poll OperationService.Get once a second until done.
            operation = images.Create(
                image_service_pb2.CreateImageRequest(folder_id="bench", uri="u")
            )
            while not operation.done:
                time.sleep(1)
                operation = operations.Get(
                    operation_service_pb2.GetOperationRequest(operation_id=operation.id)
                )
            return lag(operation)

        baseline, measured = alternate(rounds, sdk_style, ours)
        client.close()
        channel.close()
    finally:
        server.stop()
    return Result(
        "client: operation finished → .result() returned (--operation-delay 0.3)",
        "official SDK's fixed 1 s poll",
        baseline,
        measured,
        "ms",
        "median ≤ 50 ms",
        measured.median <= 0.050,
        measured.median / baseline.median,
        scale=1000,
    )


# --- the report -----------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("protobuf", "grpcio", "grpcio-tools", "black", "Jinja2")
    )
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory: {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        f"- {platform.platform()}; Python {platform.python_version()}",
        f"- {versions}",
    ]


def _met(met: bool | None) -> str:
    return "—" if met is None else "yes" if met else "**no**"


def report(
    results: list[Result],
    skipped: list[str],
    seconds: float,
    arguments: argparse.Namespace,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python bench/run.py{' --quick' if arguments.quick else ''}`) on "
        f"{time.strftime('%Y-%m-%d')}, in {seconds:.0f} s. Each figure is measured against its baseline "
        "in the same run, alternating A B A B; cells give the median and (min–max).",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Results",
        "",
        "| benchmark | baseline | baseline figure | ours | ratio (ours / baseline) | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.baseline_name} | {result.baseline.cell(result.unit, result.scale)} | "
            f"{result.ours.cell(result.unit, result.scale)} | {result.ratio:.2f} | {result.target} | "
            f"{_met(result.met)} |"
        )
    notes = [f"- {result.name}: {result.note}" for result in results if result.note]
    notes += [f"- {reason}" for reason in skipped]
    if notes:
        lines += ["", "## Notes", "", *notes]
    if any(result.met is False for result in results):
        lines += [
            "",
            "## Targets not met",
            "",
            "`bench/ANALYSIS.md` explains each gap, with what profiling found and the figures "
            "before and after the fixes it led to.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and services (a smoke run)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--only-rest",
        action="store_true",
        help="run the REST face's benchmarks alone (prints, writes nothing)",
    )
    parser.add_argument(
        "--only-docs",
        action="store_true",
        help="run the whole-API docs benchmarks alone (prints, writes nothing)",
    )
    parser.add_argument(
        "--only-scaling",
        action="store_true",
        help="run the several-processes and PostgreSQL benchmarks alone (prints, writes "
        "nothing)",
    )
    parser.add_argument(
        "--only-list",
        action="store_true",
        help="run the List and growth benchmarks alone (prints, writes nothing)",
    )
    arguments = parser.parse_args()
    if arguments.only_scaling:
        found = bench_scaling(2 if arguments.quick else 3, 5.0, 100)
        for result in [found] if isinstance(found, str) else found:
            print(result)
        return
    if arguments.only_list:
        for result in bench_list_and_growth(2, 100, 3.0):
            print(result)
        return
    if arguments.only_rest:
        for result in bench_rest(2 if arguments.quick else 3, 5.0, 500):
            print(result)
        return
    if arguments.only_docs:
        for result in bench_docs(2 if arguments.quick else 5):
            print(result)
        return
    rounds = 2 if arguments.quick else 5
    started = time.perf_counter()
    results = []
    skipped = []
    for benchmark in (
        lambda: bench_corpus(1 if arguments.quick else 5),
        lambda: bench_docs(rounds),
    ):
        found = benchmark()
        if isinstance(found, str):
            skipped.append(found)
        else:
            results += found
    results += bench_plugin(rounds, 30 if arguments.quick else 300)
    seconds = 2.0 if arguments.quick else 5.0
    results += bench_server(2 if arguments.quick else 5, seconds)
    results += bench_rest(
        2 if arguments.quick else 3, seconds, 300 if arguments.quick else 1000
    )
    results.append(bench_handler(rounds, 2000 if arguments.quick else 10000))
    results += bench_calibration(1 if arguments.quick else 3, seconds)
    results += bench_list_and_growth(
        2 if arguments.quick else 3, 50 if arguments.quick else 200, seconds
    )
    found = bench_scaling(2 if arguments.quick else 3, seconds, 200)
    if isinstance(found, str):
        skipped.append(found)
    else:
        results += found
    results.append(bench_fieldmask(rounds, 2000 if arguments.quick else 20000))
    results.append(bench_client(3 if arguments.quick else 9))
    text = report(results, skipped, time.perf_counter() - started, arguments)
    arguments.out.write_text(text)
    print(text)
    print(json.dumps({result.name: result.met for result in results}, indent=1))


if __name__ == "__main__":
    main()
