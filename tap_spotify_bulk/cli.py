"""Console entry point: the SDK's CLI, with fatal errors reported as one line.

Before the SDK's CLI starts (and logs anything), `preflight` reads the `--config`, `--state`
and `--catalog` files (for every command: a missing or broken one is one line) and checks a
sync's configuration with the catalog's selection, without building a tap. A bad
configuration therefore prints exactly one line and sends no request.

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
import os
import sys
import traceback

from singer_sdk.exceptions import ConfigValidationError

from tap_spotify_bulk import ads_login
from tap_spotify_bulk.check import check
from tap_spotify_bulk.config_files import merged_config, read_input_file
from tap_spotify_bulk.errors import ConfigError, TapError
from tap_spotify_bulk.tap import TapSpotifyBulk, config_error, unknown_settings, validate_config

DEBUG_ENV = "TAP_SPOTIFY_BULK_DEBUG"
_NOT_A_SYNC = ("--discover", "--about", "--version", "--help", "--test", "--check")


def _fail(message: str, exit_code: int) -> None:
    if os.environ.get(DEBUG_ENV, "").strip().lower() not in {"", "0", "false"}:
        traceback.print_exc()
    line = " ".join(message.split())  # always exactly one line
    sys.stderr.write(f"{TapSpotifyBulk.name}: error: {line}\n")
    sys.stderr.flush()
    sys.exit(exit_code)


def preflight(argv: list[str]) -> argparse.Namespace:
    """Check the input files and, for a sync, the configuration; raise `TapError` naming
    the first problem. Returns the options read.

    Each `--config`/`--state`/`--catalog` file must be a readable JSON object. A sync's
    configuration (the files merged, as the SDK merges them) is checked with the catalog's
    selection before the SDK's CLI starts, so a bad one is the run's only line. With
    `--config ENV` the environment's settings are the SDK's to read: the tap it builds then
    checks them (after its start-up lines).
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--catalog")
    parser.add_argument("--state")
    parser.add_argument("--check", action="store_true")
    args, _ = parser.parse_known_args(argv)
    config = merged_config(args.config)
    catalog = read_input_file(args.catalog, "--catalog") if args.catalog else None
    if args.state:
        read_input_file(args.state, "--state")
    is_sync = not any(arg.split("=", 1)[0] in _NOT_A_SYNC for arg in argv)
    if is_sync and "ENV" not in args.config:
        validate_config(config, catalog)
    return args


def with_notes(message: str, notes: list[str]) -> str:
    """`message` and the notes on unknown settings it does not already name, as one line."""
    fresh = [note for note in notes if note.split("`")[1] not in message]
    return "; ".join([message.rstrip("."), *fresh]) if fresh else message


def run_check(args: argparse.Namespace) -> None:
    """`--check`: the connectivity check's one line on stdout, any failure one line on stderr
    and exit 1. Unknown settings are named in that line, not logged apart."""
    notes: list[str] = []
    try:
        tap = TapSpotifyBulk(config=merged_config(args.config),
                             parse_env_config="ENV" in args.config, setup_mapper=False,
                             validate_config=False)  # `check` runs the settings' checks
        notes = unknown_settings(tap.config)
        line = check(tap.config)
    except TapError as exc:
        _fail(with_notes(str(exc), notes), 1)
    except ConfigValidationError as exc:
        _fail(with_notes(str(config_error(exc)), notes), 1)
    sys.stdout.write(f"{TapSpotifyBulk.name}: check: {with_notes(line, notes)}\n")


def main() -> None:
    try:
        if ads_login.COMMAND in sys.argv[1:]:  # `tap-spotify-bulk [--config F] ads-login ...`
            ads_login.main([arg for arg in sys.argv[1:] if arg != ads_login.COMMAND])
            return
        args = preflight(sys.argv[1:])
        if args.check:
            run_check(args)
            return
        TapSpotifyBulk.cli()
    except TapError as exc:
        _fail(str(exc), exc.exit_code)
    except ConfigValidationError as exc:
        _fail(str(config_error(exc)), ConfigError.exit_code)


__all__ = ["main", "preflight"]
