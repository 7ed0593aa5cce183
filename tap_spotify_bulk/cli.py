"""Console entry point: the SDK's CLI, with fatal errors reported as one line.

A `TapError` (bad setting, rejected credentials, refused licensor, an API that keeps failing,
a file that stays corrupt) or an SDK configuration error anywhere in the run is printed as
`tap-spotify-bulk: error: <message>` on stderr, and the process exits with the error's
exit code (2 for configuration errors, 1 otherwise). Set `TAP_SPOTIFY_BULK_DEBUG=1` to get
the full traceback as well.
"""

from __future__ import annotations

import os
import sys
import traceback

from singer_sdk.exceptions import ConfigValidationError

from tap_spotify_bulk.errors import ConfigError, TapError
from tap_spotify_bulk.tap import TapSpotifyBulk

DEBUG_ENV = "TAP_SPOTIFY_BULK_DEBUG"


def _fail(message: str, exit_code: int) -> None:
    if os.environ.get(DEBUG_ENV, "").strip() not in {"", "0", "false"}:
        traceback.print_exc()
    line = " ".join(message.split())  # always exactly one line
    sys.stderr.write(f"{TapSpotifyBulk.name}: error: {line}\n")
    sys.stderr.flush()
    sys.exit(exit_code)


def main() -> None:
    try:
        TapSpotifyBulk.cli()
    except TapError as exc:
        _fail(str(exc), exc.exit_code)
    except ConfigValidationError as exc:
        first = exc.errors[0] if exc.errors else str(exc)
        _fail(f"invalid configuration: {first}", ConfigError.exit_code)
