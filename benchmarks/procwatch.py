"""Watch a running process from outside (Linux `/proc`): its peak resident memory and the
bytes of the files it holds open in one directory, deleted (unnamed) files included.

The tap's downloads have no name on disk, so `du` cannot see them; their descriptors can:
`/proc/<pid>/fd/<n>` links to `<directory>/... (deleted)` and `stat` through the link gives
the file's size.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path


def open_files_in(pid: int, directory: str | Path) -> list[int]:
    """Sizes of the regular files `pid` holds open under `directory` (empty if it is gone)."""
    prefix = str(Path(directory).resolve()).rstrip("/") + "/"
    sizes: dict[tuple[int, int], int] = {}  # a file open twice (dup) counts once
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            if str(entry.readlink()).startswith(prefix):
                info = entry.stat()
                sizes[info.st_dev, info.st_ino] = info.st_size
        except OSError:
            continue  # closed meanwhile
    return list(sizes.values())


def peak_rss_bytes(pid: int) -> int | None:
    """The kernel's high-water mark of the process's resident memory (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class ProcessWatch:
    """Samples `pid` every `interval` seconds on a thread until `stop()`."""

    def __init__(self, pid: int, directory: str | Path, interval: float = 0.005) -> None:
        self.pid = pid
        self.directory = directory
        self.interval = interval
        self.peak_rss = 0
        self.peak_temp_bytes = 0
        self.peak_temp_files = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sample(self) -> list[int]:
        sizes = open_files_in(self.pid, self.directory)
        self.peak_temp_bytes = max(self.peak_temp_bytes, sum(sizes))
        self.peak_temp_files = max(self.peak_temp_files, len(sizes))
        rss = peak_rss_bytes(self.pid)
        if rss is not None:
            self.peak_rss = max(self.peak_rss, rss)
        self.samples += 1
        return sizes

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
