"""Console entry point: the SDK's CLI, with fatal errors reported as one line.

A `--config`, `--state` or `--catalog` file that is missing or not a JSON object is reported
before the SDK's CLI starts (for every command). The configuration itself is checked once, by
the tap the SDK builds: the settings' values when it is built, the credentials the selected
streams need when the sync starts; both before any request.

A `TapError` (bad setting, rejected credentials, refused licensor, an API that keeps failing,
a file that stays corrupt) or an SDK configuration error anywhere in the run is printed as
`tap-spotify-bulk: error: <message>` on stderr, and the process exits with the error's
exit code (2 for configuration errors, 1 otherwise). Set `TAP_SPOTIFY_BULK_DEBUG=1` to get
the full traceback as well.

`--check` tries the credentials and the first listings instead of extracting (see
`tap_spotify_bulk.check`): one line, exit 0 or 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from singer_sdk.exceptions import ConfigValidationError

from tap_spotify_bulk.check import check
from tap_spotify_bulk.errors import ConfigError, TapError
from tap_spotify_bulk.tap import TapSpotifyBulk, config_error

DEBUG_ENV = "TAP_SPOTIFY_BULK_DEBUG"


def _fail(message: str, exit_code: int) -> None:
    if os.environ.get(DEBUG_ENV, "").strip().lower() not in {"", "0", "false"}:
        traceback.print_exc()
    line = " ".join(message.split())  # always exactly one line
    sys.stderr.write(f"{TapSpotifyBulk.name}: error: {line}\n")
    sys.stderr.flush()
    sys.exit(exit_code)


def read_input_file(path: str, option: str) -> dict:
    """A `--config`/`--state`/`--catalog` file as a JSON object; `ConfigError` otherwise, so
    a missing or broken file is one line instead of the SDK's traceback."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem = "does not exist"
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be read ({type(exc).__name__})"
    except ValueError as exc:
        problem = f"is not valid JSON ({exc})"
    else:
        if isinstance(value, dict):
            return value
        problem = "must hold a JSON object"
    msg = f"`{option}` file {path} {problem}."
    raise ConfigError(msg)


def check_input_files(argv: list[str]) -> argparse.Namespace:
    """Each `--config`/`--state`/`--catalog` file must be a readable JSON object; raise
    `ConfigError` naming the first that is not. Returns the options read."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--catalog")
    parser.add_argument("--state")
    parser.add_argument("--check", action="store_true")
    args, _ = parser.parse_known_args(argv)
    for path in args.config:
        if path != "ENV":
            read_input_file(path, "--config")
    for path, option in ((args.catalog, "--catalog"), (args.state, "--state")):
        if path:
            read_input_file(path, option)
    return args


def run_check(args: argparse.Namespace) -> None:
    """`--check`: the connectivity check's one line on stdout; any failure exits 1."""
    try:
        tap = TapSpotifyBulk(config=[p for p in args.config if p != "ENV"] or None,
                             parse_env_config="ENV" in args.config, setup_mapper=False)
        line = check(tap.config)
    except TapError as exc:
        _fail(str(exc), 1)
    except ConfigValidationError as exc:
        _fail(str(config_error(exc)), 1)
    sys.stdout.write(f"{TapSpotifyBulk.name}: check: {line}\n")


def main() -> None:
    try:
        args = check_input_files(sys.argv[1:])
        if args.check:
            run_check(args)
            return
        TapSpotifyBulk.cli()
    except TapError as exc:
        _fail(str(exc), exc.exit_code)
    except ConfigValidationError as exc:
        _fail(str(config_error(exc)), ConfigError.exit_code)


__all__ = ["check_input_files", "main"]
