"""Running the tap: in this process (`run_tap`) or as the real `tap-spotify-bulk` command
(`run_cli`); `helpers.watched` runs the command watched from outside, to a kill or a
closed pipe.

Each of them scans everything the run wrote (stdout, stderr, logs, the error) for secrets
(see `helpers.secrets`), so every test is also a secret-leak test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
import subprocess
import sys
import typing as t
import uuid
from dataclasses import dataclass
from pathlib import Path

from helpers.secrets import all_secrets, assert_no_secrets
from helpers.singer import Output
from tap_spotify_bulk.tap import TapSpotifyBulk

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from spotify_sandbox import Sandbox

COMMAND = str(Path(sys.executable).parent / "tap-spotify-bulk")
HOOKS = Path(__file__).with_name("tap_hooks.py")  # the command with test hooks


def catalog(config: Mapping[str, t.Any], selected: Iterable[str]) -> dict:
    """The discovered catalog with only the `selected` streams selected."""
    wanted = set(selected)
    result = TapSpotifyBulk(config=dict(config), validate_config=False,
                            parse_env_config=False).catalog_dict
    for entry in result["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return result


def run_tap(config: dict, *, state: dict | None = None, streams: Iterable[str] | None = None,
            catalog_dict: dict | None = None, sandbox: Sandbox | None = None,
            secrets: Iterable[str] = (), expect_error: bool = False) -> Output:
    """A full sync in this process: its Singer output, with the log records (INFO and up)
    and the exception it ended with (only allowed with `expect_error`)."""
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.INFO)
    error: BaseException | None = None
    try:
        if catalog_dict is None and streams is not None:
            catalog_dict = catalog(config, streams)
        with contextlib.redirect_stdout(text):
            try:
                TapSpotifyBulk(config=config, state=state, catalog=catalog_dict,
                               parse_env_config=False).sync_all()
            except Exception as exc:
                if not expect_error:
                    raise
                error = exc
        text.flush()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    if expect_error:
        assert error is not None, "the run was expected to fail"
    output = Output.parse(raw.getvalue(), resumed=bool(state))
    output.logs, output.error = logs.getvalue(), error
    assert_no_secrets(all_secrets(sandbox, config, secrets), output.raw, output.logs,
                      str(error or ""))
    return output


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any TAP_SPOTIFY_BULK_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SPOTIFY_BULK")}
    env.update(extra or {})
    return env


def write_inputs(directory: Path, config: dict | None, state: dict | None = None,
                 streams: Iterable[str] | None = None) -> list[str]:
    """Write config/state/catalog files into `directory`; the CLI arguments for them."""
    directory.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:8]
    args: list[str] = []
    if config is not None:
        config_path = directory / f"config-{name}.json"
        config_path.write_text(json.dumps(config))
        args += ["--config", str(config_path)]
    if state is not None:
        state_path = directory / f"state-{name}.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    if streams is not None:
        catalog_path = directory / f"catalog-{name}.json"
        catalog_path.write_text(json.dumps(catalog(config or {}, streams)))
        args += ["--catalog", str(catalog_path)]
    return args


def command(*, fast_retries: bool = False, frozen_now: dt.datetime | None = None,
            ads_state_every: int | None = None) -> list[str]:
    """The `tap-spotify-bulk` command; or the same entry point in a real Python process
    (`helpers.tap_hooks`) with a 10 ms retry backoff (server hints such as Retry-After
    still honoured), so fatal-fault tests end in seconds, the Ads clock frozen at
    `frozen_now` (as the sandbox's), and/or an Ads STATE every `ads_state_every` records
    (so a kill can land inside a report)."""
    if not fast_retries and frozen_now is None and ads_state_every is None:
        return [COMMAND]
    hooks = ["--fast-retries"] if fast_retries else []
    if frozen_now is not None:
        hooks += ["--frozen-now", frozen_now.isoformat()]
    if ads_state_every is not None:
        hooks += ["--ads-state-every", str(int(ads_state_every))]
    return [sys.executable, "-P", str(HOOKS), *hooks, "--"]  # -P: helpers/ shadows stdlib names


@dataclass
class CliRun:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def output(self) -> Output:
        return Output.parse(self.stdout)

    def error_line(self) -> str:
        """The single `tap-spotify-bulk: error:` line; no traceback, no other error line
        (not the SDK's "An unhandled error occurred while syncing" either)."""
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        assert "unhandled error" not in self.stderr, self.stderr[-3000:]
        assert not re.search(r"\| ERROR +\|", self.stderr), self.stderr[-3000:]
        lines = [line for line in self.stderr.splitlines()
                 if "tap-spotify-bulk: error: " in line]
        assert len(lines) == 1, self.stderr[-3000:]
        assert lines[0].startswith("tap-spotify-bulk: error: "), lines[0]
        return lines[0]


def run_cli(directory: Path, config: dict | None, *, state: dict | None = None,
            streams: Iterable[str] | None = None, sandbox: Sandbox | None = None,
            secrets: Iterable[str] = (), args: Iterable[str] = (),
            fast_retries: bool = False, env: Mapping[str, str] | None = None,
            frozen_now: dt.datetime | None = None, timeout: float = 180) -> CliRun:
    """Run `tap-spotify-bulk [--config ...] [--state ...] [--catalog ...] ARGS` to its end
    (no `--config` when `config` is None), with the Ads clock at `frozen_now` if given."""
    argv = [*command(fast_retries=fast_retries, frozen_now=frozen_now),
            *write_inputs(directory, config, state, streams), *args]
    done = subprocess.run(argv, capture_output=True, timeout=timeout, env=clean_env(env),
                          check=False)
    run = CliRun(done.returncode, done.stdout, done.stderr.decode(errors="replace"))
    assert_no_secrets(all_secrets(sandbox, config, secrets), run.stdout, run.stderr)
    return run
