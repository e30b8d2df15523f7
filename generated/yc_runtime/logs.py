"""The server's log: to stderr, as text lines or as JSON lines (`--log-format`).

Text: `TIME LEVEL MESSAGE`, with `[PID]` after the time when several processes serve (their
lines interleave). The access log's line of a call (see `calls`) reads

    /yandex.cloud.baremetal.v1alpha.ImageService/Get OK 0.84 ms request_id=UUID peer=ipv4:127.0.0.1:40312

JSON: one object per line, with `time` (ISO 8601, UTC), `level` and `pid`; an access line adds
`method`, `code`, `duration_ms`, `request_id` and `peer`, any other line `logger` and `message`
(and `exception`, with a traceback).

The access log is the hottest line of code after the handlers themselves: a record through
`logging.Logger.info` and a write to stderr per call cost about a tenth of the server's
throughput. So `access_log()` formats the line itself (the time's text made once a second),
without a LogRecord, and the handler holds access lines to write them together, at most `HOLD`
seconds late; any other line is written at once, after the access lines held. Where
`configure` has not set the handler up (a server started in code), access lines are ordinary
records of the logger `calls.ACCESS_LOGGER`.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
import time
from typing import Any, TextIO

from .calls import ACCESS_FIELDS, ACCESS_LOGGER, AccessLog, log_to_logger

FORMATS = ("text", "json")
# How long an access line may wait to be written with others.
HOLD = 0.1


class JsonLines(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "pid": record.process,
        }
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple):
            entry.update(zip(ACCESS_FIELDS, record.args))
            entry["duration_ms"] = round(entry["duration_ms"], 3)
        else:
            entry["logger"] = record.name
            entry["message"] = record.getMessage()
            if record.exc_info:
                entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class BatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that holds access lines for up to `HOLD` seconds, to write them
    together; other lines are written at once, after those held."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._held: list[str] = []
        self._waiting = threading.Event()  # set when lines are held
        self._writer: threading.Thread | None = None
        # Lines held before a fork are written once, by the parent; the child starts its own
        # writer thread (threads do not survive a fork).
        os.register_at_fork(before=self.flush, after_in_child=self._forget_writer)

    def hold(self, line: str) -> None:
        """Writes `line` (with its newline) within `HOLD` seconds."""
        with self.lock:  # type: ignore[union-attr]
            self._held.append(line)
            if not self._waiting.is_set():
                self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_regularly, name="log-writer", daemon=True
            )
            self._writer.start()
        self._waiting.set()

    def emit(self, record: logging.LogRecord) -> None:
        # Called by `handle`, with the handler's lock held.
        if record.name != ACCESS_LOGGER:
            self._write_held()
            super().emit(record)
            return
        try:
            self._held.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if not self._waiting.is_set():
            self._start_writer()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_held()
            super().flush()

    def _write_held(self) -> None:
        if self._held:
            lines, self._held = self._held, []
            self.stream.write("".join(lines))

    def _write_regularly(self) -> None:
        while True:
            self._waiting.wait()
            time.sleep(HOLD)
            self._waiting.clear()
            self.flush()

    def _forget_writer(self) -> None:
        self._writer = None
        self._waiting.clear()


class _AccessLines:
    """An AccessLog that formats each line as the handler's formatter would, and has the
    handler hold it."""

    def __init__(self, handler: BatchingHandler, json_lines: bool, pid: bool) -> None:
        self._handler = handler
        self._json = json_lines
        self._pid = pid
        self._second = 0
        self._time = ""  # the text of `_second`, as logging.Formatter writes times

    def __call__(
        self, method: str, code: str, duration_ms: float, request_id: str, peer: str
    ) -> None:
        now = time.time()
        if self._json:
            moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
            entry = {
                "time": moment.isoformat(timespec="milliseconds"),
                "level": "INFO",
                "pid": os.getpid(),
                "method": method,
                "code": code,
                "duration_ms": round(duration_ms, 3),
                "request_id": request_id,
                "peer": peer,
            }
            self._handler.hold(json.dumps(entry) + "\n")
            return
        second = int(now)
        if second != self._second:
            self._second = second
            self._time = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        pid = f" [{os.getpid()}]" if self._pid else ""
        self._handler.hold(
            f"{self._time},{int((now - second) * 1000):03d}{pid} INFO {method} {code} "
            f"{duration_ms:.2f} ms request_id={request_id} peer={peer}\n"
        )


# What `configure` set up in this process: the handler, and the access log that feeds it.
_configured: AccessLog | None = None


def access_log() -> AccessLog:
    """Where the server's access lines go: straight to the handler `configure` set up, else
    to the logger `calls.ACCESS_LOGGER`."""
    return _configured or log_to_logger


def configure(log_format: str = "text", several_processes: bool = False) -> None:
    """Sends INFO and above to stderr in `log_format` ("text" or "json"), access lines
    through `access_log()`."""
    global _configured
    handler = BatchingHandler()
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        pid = " [%(process)d]" if several_processes else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s{pid} %(levelname)s %(message)s")
        )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    _configured = _AccessLines(handler, log_format == "json", several_processes)
