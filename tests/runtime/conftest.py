import sys
from pathlib import Path
from typing import Iterator

import pytest

from generator.runtime.storage import Storage, open_storage
from generator.runtime.storage_memory import MemoryStorage
from generator.runtime.storage_sqlite import SqliteStorage
from support import GENERATED

# Runtime modules work on the messages of the generated image API.
if str(GENERATED) not in sys.path:
    sys.path.insert(0, str(GENERATED))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each implementation in turn, opened empty and closed after the test (closing twice is
    harmless). PostgreSQL's tests skip, saying why, where no PostgreSQL can be started.
    """
    if request.param == "memory":
        opened: Storage = MemoryStorage()
    elif request.param == "sqlite":
        opened = SqliteStorage(str(tmp_path / "db"))
    else:
        opened = open_storage(request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()
