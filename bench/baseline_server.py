"""The server throughput baseline: a minimal hand-written ImageService.Update.

It does the same read-modify-write as the generated server (find the image, apply the masked
fields, store it, answer with a done Operation) on a dict under a lock, with no validation,
no storage layer and no hooks. Create is there so the benchmark can make images.

    python bench/baseline_server.py --port 0     # prints "listening on 127.0.0.1:PORT"
    python bench/baseline_server.py --port 0 --work-us 40   # plus 40 µs of Python per Update
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generated"))

from yandex.cloud.baremetal.v1alpha import (  # noqa: E402
    image_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
)
from yandex.cloud.operation import operation_pb2  # noqa: E402


class BaselineImages(image_service_pb2_grpc.ImageServiceServicer):
    def __init__(self, work_us: float = 0.0) -> None:
        self.images: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.counter = 0
        # Extra Python work per Update (a busy loop), to measure how throughput falls with
        # the time a handler takes: the benchmark's calibration, not part of the baseline.
        self.work = work_us / 1e6

    def Create(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            self.counter += 1
            image = image_pb2.Image(
                id=f"b{self.counter:019d}",
                folder_id=request.folder_id,
                name=request.name,
                description=request.description,
            )
            image.labels.update(request.labels)
            self.images[image.id] = image.SerializeToString()
        operation = operation_pb2.Operation(id=f"o{self.counter:019d}", done=True)
        operation.response.Pack(image)
        return operation

    def Update(self, request, context):  # type: ignore[no-untyped-def]
        if self.work:
            until = time.perf_counter() + self.work
            while time.perf_counter() < until:
                pass
        with self.lock:
            data = self.images.get(request.image_id)
            if data is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such image")
            image = image_pb2.Image.FromString(data)
            for path in request.update_mask.paths:
                if path == "labels":
                    image.labels.clear()
                    image.labels.update(request.labels)
                else:
                    setattr(image, path, getattr(request, path))
            self.images[image.id] = image.SerializeToString()
            self.counter += 1
        operation = operation_pb2.Operation(id=f"o{self.counter:019d}", done=True)
        operation.metadata.Pack(
            image_service_pb2.UpdateImageMetadata(image_id=image.id)
        )
        operation.response.Pack(image)
        return operation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--work-us", type=float, default=0.0, help="busy-loop per Update (calibration)"
    )
    arguments = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=arguments.workers))
    image_service_pb2_grpc.add_ImageServiceServicer_to_server(
        BaselineImages(arguments.work_us), server
    )
    port = server.add_insecure_port(f"127.0.0.1:{arguments.port}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"listening on 127.0.0.1:{port}", flush=True)
    while not stop.wait(0.2):  # a signal one of grpc's threads receives wakes no wait
        pass
    server.stop(1).wait()


if __name__ == "__main__":
    main()
