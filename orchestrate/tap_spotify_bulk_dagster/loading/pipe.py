"""One Singer pipe: the tap's stdout into the target's stdin, as two OS processes.

Both processes run in their own process group, so stopping a run (Dagster's
termination, a timeout) ends the pair and nothing else. Their stderr goes to files in the
slice's private work directory; the target's stdout (the STATE it echoes after committing)
is kept, its last line is the state to save.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

TAIL_LINES = 30


class PipeGroup:
    """The pipes one Dagster step started: stopped together when the step is interrupted
    (its worker threads would otherwise leave them running)."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._lock = threading.Lock()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def stop(self) -> None:
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            _kill_group(pgid)


@dataclass(frozen=True)
class PipeResult:
    """How a tap | target pair ended, with both stderr logs and the target's last STATE."""

    tap_code: int
    target_code: int
    tap_log: str
    target_log: str
    last_state: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.tap_code == 0 and self.target_code == 0

    def failure(self) -> str:
        """Which side failed, with the tail of its log (never the config: it holds secrets)."""
        side, code, log = (("tap", self.tap_code, self.tap_log) if self.tap_code != 0
                           else ("target", self.target_code, self.target_log))
        tail = "\n".join(log.splitlines()[-TAIL_LINES:])
        return f"{side} exited {code}:\n{tail}"


def run_pipe(tap: Sequence[str], target: Sequence[str], workdir: Path, *,
             env: Mapping[str, str] | None = None, timeout: float = 6 * 3600,
             group: PipeGroup | None = None) -> PipeResult:
    """Run `tap | target` in `workdir`; wait for both (or kill both after `timeout`)."""
    started = time.monotonic()
    tap_err, target_err = workdir / "tap.log", workdir / "target.log"
    target_out = workdir / "target.out"
    environment = dict(env if env is not None else os.environ)
    with tap_err.open("wb") as tap_log, target_err.open("wb") as target_log, \
            target_out.open("wb") as out:
        producer = subprocess.Popen(  # noqa: S603 (executables resolved by the resources)
            list(tap), stdout=subprocess.PIPE, stderr=tap_log, stdin=subprocess.DEVNULL,
            cwd=workdir, env=environment, process_group=0)
        assert producer.stdout is not None
        try:
            consumer = subprocess.Popen(  # noqa: S603
                list(target), stdin=producer.stdout, stdout=out, stderr=target_log,
                cwd=workdir, env=environment, process_group=producer.pid)
        except BaseException:
            _kill_group(producer.pid)
            raise
        producer.stdout.close()  # the target owns the read end now: EPIPE reaches the tap
        members = group or PipeGroup()
        members.add(producer.pid)
        try:
            target_code = consumer.wait(timeout=timeout)
            tap_code = producer.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
        except BaseException:  # timeout, KeyboardInterrupt, Dagster's termination
            _kill_group(producer.pid)
            producer.wait()
            consumer.wait()
            raise
        finally:
            members.discard(producer.pid)
    lines = [line for line in target_out.read_text(encoding="utf-8",
                                                   errors="replace").splitlines() if line]
    return PipeResult(
        tap_code=tap_code, target_code=target_code,
        tap_log=tap_err.read_text(encoding="utf-8", errors="replace"),
        target_log=target_err.read_text(encoding="utf-8", errors="replace"),
        last_state=lines[-1] if lines else None, seconds=time.monotonic() - started)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

