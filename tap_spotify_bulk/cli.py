"""Console entry point: the SDK's CLI, with fatal errors reported as one line.

Before the SDK's CLI starts (and logs anything), a sync's configuration is checked quietly:
the settings' values and the credentials the selected streams need. A bad configuration
therefore prints exactly one line and sends no request; so does a `--config`, `--state` or
`--catalog` file that is missing or not a JSON object (for every command).

A `TapError` (bad setting, rejected credentials, refused licensor, an API that keeps failing,
a file that stays corrupt) or an SDK configuration error anywhere in the run is printed as
`tap-spotify-bulk: error: <message>` on stderr, and the process exits with the error's
exit code (2 for configuration errors, 1 otherwise). Set `TAP_SPOTIFY_BULK_DEBUG=1` to get
the full traceback as well.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from pathlib import Path

from singer_sdk.exceptions import ConfigValidationError

from tap_spotify_bulk.ads import login
from tap_spotify_bulk.errors import ConfigError, TapError
from tap_spotify_bulk.tap import TapSpotifyBulk, config_error

DEBUG_ENV = "TAP_SPOTIFY_BULK_DEBUG"
_NOT_A_SYNC = ("--discover", "--about", "--version", "--help", "--test")


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


def preflight(argv: list[str]) -> None:
    """Check the input files, then a sync's configuration, quietly; raise `TapError` when
    one is bad.

    Commands that are not a sync (discovery, --about, ...) only get their files checked.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--catalog")
    parser.add_argument("--state")
    args, _ = parser.parse_known_args(argv)
    files = [path for path in args.config if path != "ENV"]
    for path in files:
        read_input_file(path, "--config")
    catalog = read_input_file(args.catalog, "--catalog") if args.catalog else None
    if args.state:
        read_input_file(args.state, "--state")
    if any(arg.split("=", 1)[0] in _NOT_A_SYNC for arg in argv):
        return
    logging.disable(logging.INFO)  # the SDK's start-up lines belong to the real run
    try:
        tap = TapSpotifyBulk(config=files or None, catalog=catalog,
                             parse_env_config="ENV" in args.config, setup_mapper=False)
        tap.validate_selected_settings()
    except (TapError, ConfigValidationError):
        raise
    except Exception:  # noqa: S110 (odd inputs: the SDK's own run reports them)
        pass
    finally:
        logging.disable(logging.NOTSET)


def main() -> None:
    try:
        if login.COMMAND in sys.argv[1:]:  # `tap-spotify-bulk [--config F] ads-login ...`
            login.main([arg for arg in sys.argv[1:] if arg != login.COMMAND])
            return
        preflight(sys.argv[1:])
        TapSpotifyBulk.cli()
    except TapError as exc:
        _fail(str(exc), exc.exit_code)
    except ConfigValidationError as exc:
        _fail(str(config_error(exc)), ConfigError.exit_code)


__all__ = ["main", "preflight"]
