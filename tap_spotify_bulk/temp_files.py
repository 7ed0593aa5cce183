"""Temporary files that have no name on disk, and the one-line error when the temporary
directory fails, for the Bulk downloads and the Ads report windows alike.

A file is created unnamed (`tempfile.TemporaryFile`: `O_TMPFILE` on Linux, elsewhere created
and unlinked at once) and kept by its descriptor. Whatever ends the process (`kill -9`, out
of memory, a closed output), the kernel frees the space, and the temporary directory
(`temp_dir`, else `TMPDIR`) holds nothing of the tap's: there is nothing for a later run to
clean up.
"""

from __future__ import annotations

import errno
import os
import tempfile
import typing as t

from tap_spotify_bulk.errors import TapError

if t.TYPE_CHECKING:
    from pathlib import Path

DISK_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class TempDiskFullError(TapError):
    """The temporary directory ran out of space (or hit a file size limit)."""


def temp_directory(directory: str | Path | None) -> str:
    """Where the files are written: the setting, else `TMPDIR`, else the system default."""
    return str(directory) if directory else tempfile.gettempdir()


def disk_error(error: OSError, directory: str | Path | None, what: str) -> TapError:
    """The one-line error for a temporary file that could not be created or written."""
    where = temp_directory(directory)
    if error.errno in DISK_FULL:
        return TempDiskFullError(
            f"{what}: the temporary directory {where} is full ({os.strerror(error.errno)}). "
            "Nothing of this date was committed to state. Free space there, point `temp_dir` "
            "(or TMPDIR) at a larger disk, or lower `download_budget_mb`."
        )
    return TapError(f"{what}: cannot write a temporary file in {where} "
                    f"({error.strerror or error}): check `temp_dir` (or TMPDIR).")


def new_file(directory: str | Path | None) -> t.BinaryIO:
    """An unnamed, unbuffered temporary file in `directory` (None: TMPDIR)."""
    return t.cast(t.BinaryIO, tempfile.TemporaryFile(
        prefix="tap-spotify-bulk-", dir=directory, buffering=0))
