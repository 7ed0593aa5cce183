"""Run the tap as a subprocess the way a target reads it, watched from outside.

`run_watched` reads the tap's stdout line by line (optionally slowly, as a slow loader
does), and can `kill -9` it or close the pipe at a chosen point, while `ProcessWatch`
samples its peak memory and the bytes of the temporary files it holds open in TMPDIR.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

from helpers.singer import Output

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository's benchmarks/
from benchmarks.procwatch import ProcessWatch, open_files_in

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# stop(lines read so far, the line just read) -> "kill", "close" or None
Stop = t.Callable[[int, bytes], str | None]


@dataclass
class Watched:
    output: Output
    returncode: int
    stderr: str
    killed: bool
    closed: bool
    held_at_kill: int  # temporary files the tap held open just before it was killed
    watch: ProcessWatch

    def last_stderr_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def run_watched(argv: list[str], env: Mapping[str, str], tmpdir: Path, *,
                stop: Stop | None = None, kill_after_s: float | None = None,
                read_delay: float = 0.0, preexec_fn: Callable[[], None] | None = None,
                timeout: float = 120) -> Watched:
    """Run the tap to its end, to a kill, or to the reader closing its end of the pipe."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(env), preexec_fn=preexec_fn)  # noqa: PLW1509
    assert process.stdout is not None and process.stderr is not None
    errors: list[bytes] = []
    err_reader = threading.Thread(target=lambda: errors.append(process.stderr.read()),
                                  daemon=True)
    err_reader.start()
    lock = threading.Lock()
    state = {"killed": False, "held": 0}

    def kill() -> None:
        with lock:
            if process.poll() is None and not state["killed"]:
                state["held"] = len(open_files_in(process.pid, tmpdir))
                state["killed"] = True
                process.send_signal(signal.SIGKILL)

    timer = threading.Timer(kill_after_s if kill_after_s is not None else timeout, kill)
    timer.start()
    chunks: list[bytes] = []
    closed = False
    with ProcessWatch(process.pid, tmpdir) as watch:
        try:
            for count, line in enumerate(process.stdout, start=1):
                chunks.append(line)
                action = stop(count, line) if stop is not None else None
                if action == "kill":
                    kill()
                elif action == "close":
                    process.stdout.close()
                    closed = True
                    break
                if read_delay:
                    time.sleep(read_delay)
            process.wait(timeout=timeout)
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
            err_reader.join(timeout=10)
    raw = b"".join(chunks)
    raw = raw[: raw.rfind(b"\n") + 1]  # a line torn by a kill: a target would reject it
    killed = state["killed"] and process.returncode == -signal.SIGKILL
    return Watched(Output.parse(raw), process.returncode,
                   b"".join(errors).decode(errors="replace"), killed, closed,
                   int(state["held"]), watch)


def run_until_killed(argv: list[str], env: Mapping[str, str], *, lines: int | None = None,
                     seconds: float | None = None,
                     when: Callable[[bytes], bool] | None = None,
                     timeout: float = 120) -> Watched:
    """Run the tap; SIGKILL it after `lines` stdout lines, after `seconds`, or as soon as
    `when(line)` is true for a stdout line; read what it wrote."""

    def stop(count: int, line: bytes) -> str | None:
        hit = (lines is not None and count == lines) or (when is not None and when(line))
        return "kill" if hit else None

    return run_watched(argv, env, Path(env.get("TMPDIR") or tempfile.gettempdir()),
                       stop=stop, kill_after_s=seconds, timeout=timeout)
