"""The supervisor's policy, in isolation: restart delays, how a death reads in the log, and
which databases several processes may share (the processes themselves: tests/e2e)."""

import os
import signal
import subprocess
import sys

import pytest

from generator.runtime.processes import (
    MAX_RESTART_DELAY,
    check_storage,
    describe,
    restart_delay,
)


def test_restart_delays_double_up_to_a_ceiling() -> None:
    delays = [restart_delay(crashes) for crashes in range(1, 10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays[-1] == MAX_RESTART_DELAY == max(delays)


def test_a_death_is_described_by_its_code_or_signal() -> None:
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    _, status = os.waitpid(exited.pid, 0)
    exited.returncode = 3  # reaped here, not by Popen
    assert describe(status) == "exited with code 3"
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(killed.pid, signal.SIGKILL)
    _, status = os.waitpid(killed.pid, 0)
    killed.returncode = -9  # reaped here, not by Popen
    assert describe(status) == "was killed by SIGKILL"


def test_memory_cannot_be_shared_by_several_processes() -> None:
    check_storage(":memory:", 1)
    check_storage("api.sqlite3", 4)
    with pytest.raises(ValueError, match="--db :memory:"):
        check_storage(":memory:", 2)
