"""The generated image server over a store filled beforehand, for the List and growth benchmarks.

    python bench/filled_server.py --db :memory:|PATH --images N [--folder bench] [--port 0]

Stores N images in one folder straight through the storage API (as the service stores them,
index keys included), which takes seconds where N Create rpcs would take minutes, then serves
the store like `api_server.py` does and prints "listening on 127.0.0.1:PORT". A SQLite file that
already holds images is served as it is. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generated"))

from yc_runtime import server  # noqa: E402
from yc_runtime.ids import new_id  # noqa: E402
from yc_runtime.planner import QueryPlanner  # noqa: E402
from yc_runtime.resources import ResourceStore  # noqa: E402
from yc_runtime.storage import IndexScan, Storage, open_storage  # noqa: E402

from yandex.cloud.baremetal.v1alpha import image_pb2  # noqa: E402
from yandex.cloud.baremetal.v1alpha.image_service_server import (  # noqa: E402
    ImageService,
)

CHUNK = 5000  # images per transaction


def fill(storage: Storage, folder: str, count: int, seed: int = 1) -> None:
    """`count` ready images in `folder`, with distinct names in an order unrelated to ids."""
    spec = ImageService.RESOURCE
    store: ResourceStore[image_pb2.Image] = ResourceStore(spec, QueryPlanner(spec))
    store.reindex(storage)  # marks the (empty) store as indexed: no reindex at start
    rng = random.Random(seed)
    started = time.time_ns()
    for first in range(0, count, CHUNK):
        with storage.transaction() as transaction:
            for number in range(first, min(count, first + CHUNK)):
                image = image_pb2.Image(
                    id=new_id(),
                    folder_id=folder,
                    name=f"image-{rng.randrange(10**9):09d}-{number}",
                    description=f"filled {number}",
                    status=image_pb2.Image.READY,
                    labels={"n": str(number % 100)},
                )
                image.created_at.FromNanoseconds(started + number)
                store.store(transaction, image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=":memory:")
    parser.add_argument("--images", type=int, default=0)
    parser.add_argument("--folder", default="bench")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    storage = open_storage(arguments.db)
    with storage.read() as transaction:
        empty = not transaction.scan(IndexScan(ImageService.RESOURCE.kind, None))
    if empty:
        fill(storage, arguments.folder, arguments.images)
    running = server.start([ImageService], port=arguments.port, storage=storage)
    stopping = server.stop_signal()
    print(f"listening on 127.0.0.1:{running.port}", flush=True)
    server.wait_for(stopping)
    running.stop()


if __name__ == "__main__":
    main()
