"""The files a command line names: `--config` (one or more, merged in order, as the SDK
merges them), `--state` and `--catalog`, each read as a JSON object or refused in one line.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from tap_spotify_bulk.errors import ConfigError

ENV = "ENV"  # `--config ENV`: the settings come from the environment, read by the SDK


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


def merged_config(paths: list[str]) -> dict[str, t.Any]:
    """The `--config` files merged in order (later keys win); `ENV` entries are skipped."""
    merged: dict[str, t.Any] = {}
    for path in paths:
        if path != ENV:
            merged.update(read_input_file(path, "--config"))
    return merged
