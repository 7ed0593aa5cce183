"""Helpers of the fault suite: run the tap (subprocess or in-process), parse its Singer output,
compare it with the sandbox truth, and scan everything it wrote for secrets.

Every run helper here scans its own stdout, stderr and log output for the sandbox's
secrets (`secrets_of`), so each test of the suite is also a secret-leak test.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
import typing as t
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from spotify_sandbox.tally import BULK_PRIMARY_KEYS, Tally

from tap_spotify_bulk.tap import TapSpotifyBulk

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from spotify_sandbox import Sandbox

COMMAND = str(Path(sys.executable).parent / "tap-spotify-bulk")

BULK_KEYS = BULK_PRIMARY_KEYS  # api-contract §5.1
LOADS_STREAM = "bulk_loads"  # the load manifest: not in the sandbox's truth


def unique_credentials() -> dict[str, str]:
    """SandboxOptions credentials that are distinctive enough to scan output for."""
    tag = uuid.uuid4().hex[:12]
    return {"client_id": f"cid-{tag}", "client_secret": f"bulk-secret-{tag}",
            "ads_client_id": f"ads-cid-{tag}", "ads_client_secret": f"ads-secret-{tag}",
            "refresh_token": f"refresh-{tag}"}


# -- Singer output ----------------------------------------------------------------------


@dataclass
class Output:
    """Parsed Singer messages of one run (complete lines only)."""

    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    loads: list[dict] = field(default_factory=list)  # the `bulk_loads` manifest, kept apart

    @classmethod
    def parse(cls, raw: bytes | str) -> Output:
        out = cls()
        text = raw.decode() if isinstance(raw, bytes) else raw
        for line in text.splitlines():
            if not line.strip():
                continue
            message = orjson.loads(line)
            out.messages.append(message)
            if message["type"] == "RECORD" and message["stream"] == LOADS_STREAM:
                out.loads.append(message["record"])
            elif message["type"] == "RECORD":
                out.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                out.states.append(message["value"])
        return out

    @property
    def state(self) -> dict | None:
        return self.states[-1] if self.states else None

    def bookmarks(self) -> dict[str, str]:
        return bookmarks_of(self.state)

    def tallies(self) -> dict[str, dict]:
        return {name: Tally.for_bulk_stream(name).add_all(rows).summary()
                for name, rows in self.records.items() if name in BULK_KEYS}


def bookmarks_of(state: Mapping[str, t.Any] | None) -> dict[str, str]:
    """{stream: replication_key_value} of the Bulk streams in a Singer state."""
    marks = (state or {}).get("bookmarks", {})
    return {name: value["replication_key_value"] for name, value in marks.items()
            if name in BULK_KEYS and value.get("replication_key_value")}


def duplicate_keys(stream: str, records: Iterable[Mapping[str, t.Any]],
                   keys: tuple[str, ...] | None = None) -> list[tuple]:
    """Primary keys that occur more than once."""
    keys = keys or BULK_KEYS[stream]
    counts = Counter(tuple(r.get(k) for k in keys) for r in records)
    return [key for key, n in counts.items() if n > 1]


def upsert(runs: Iterable[Output]) -> dict[str, dict[tuple, dict]]:
    """What a target holds after loading `runs` in order: the last record per primary key."""
    table: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for run in runs:
        for stream, rows in run.records.items():
            keys = BULK_KEYS[stream]
            for row in rows:
                table[stream][tuple(row.get(k) for k in keys)] = row
    return table


def tally(stream: str, rows: Iterable[Mapping[str, t.Any]]) -> dict:
    return Tally.for_bulk_stream(stream).add_all(rows).summary()


def assert_matches_truth(output: Output, truth: Mapping[str, dict]) -> None:
    """Exactly the truth (no record lost, none extra) and no primary key twice."""
    for stream, rows in output.records.items():
        assert not duplicate_keys(stream, rows), f"{stream}: duplicate primary keys"
    landed = output.tallies()
    expected = {name: summary for name, summary in truth.items()
                if summary["count"] or name in landed}
    assert landed == expected


# -- running the tap --------------------------------------------------------------------


def catalog(config: dict, selected: Iterable[str]) -> dict:
    """The discovered catalog with only `selected` streams selected."""
    wanted = set(selected)
    result = TapSpotifyBulk(config=config, validate_config=False,
                            parse_env_config=False).catalog_dict
    for entry in result["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return result


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SPOTIFY_BULK")}
    env.update(extra or {})
    return env


def write_inputs(directory: Path, config: dict, state: dict | None = None,
                 streams: Iterable[str] | None = None) -> list[str]:
    """Write config/state/catalog files into `directory`; the CLI arguments for them."""
    directory.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:8]
    config_path = directory / f"config-{name}.json"
    config_path.write_text(json.dumps(config))
    args = ["--config", str(config_path)]
    if state is not None:
        state_path = directory / f"state-{name}.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    if streams is not None:
        catalog_path = directory / f"catalog-{name}.json"
        catalog_path.write_text(json.dumps(catalog(config, streams)))
        args += ["--catalog", str(catalog_path)]
    return args


def command(*, fast_retries: bool = False,
            frozen_now: dt.datetime | None = None) -> list[str]:
    """The `tap-spotify-bulk` command; or the same entry point in a real Python process with
    a 10 ms retry backoff (server hints such as Retry-After still honoured), so fatal-fault
    tests end in seconds, and/or the Ads clock frozen at `frozen_now` (as the sandbox's)."""
    if not fast_retries and frozen_now is None:
        return [COMMAND]
    code = ["import sys"]
    if fast_retries:
        code.append("import tap_spotify_bulk.http as h; h.backoff_delay = lambda a, **k: 0.01")
    if frozen_now is not None:
        code.append("import datetime as dt, tap_spotify_bulk.ads.windows as w; "
                    f"w.utc_now = lambda: dt.datetime.fromisoformat({frozen_now.isoformat()!r})")
    code.append("from tap_spotify_bulk.cli import main; sys.argv[0] = 'tap-spotify-bulk'; main()")
    return [sys.executable, "-c", "\n".join(code)]


@dataclass
class CliRun:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def output(self) -> Output:
        return Output.parse(self.stdout)

    def error_line(self) -> str:
        """The single `tap-spotify-bulk: error:` line; no traceback, nothing else failing."""
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        lines = [line for line in self.stderr.splitlines() if "error:" in line.lower()
                 and "tap-spotify-bulk: error: " in line]
        assert len(lines) == 1, self.stderr[-3000:]
        return lines[0]


def run_cli(directory: Path, config: dict, *, state: dict | None = None,
            streams: Iterable[str] | None = None, sandbox: Sandbox | None = None,
            secrets: Iterable[str] = (), args: Iterable[str] = (),
            fast_retries: bool = False, env: Mapping[str, str] | None = None,
            timeout: float = 180) -> CliRun:
    """Run `tap-spotify-bulk --config ... [--state ...] [--catalog ...]` to its end."""
    argv = [*command(fast_retries=fast_retries),
            *write_inputs(directory, config, state, streams), *args]
    done = subprocess.run(argv, capture_output=True, timeout=timeout, env=clean_env(env),
                          check=False)
    run = CliRun(done.returncode, done.stdout, done.stderr.decode(errors="replace"))
    assert_no_secrets(all_secrets(sandbox, secrets), run.stdout, run.stderr)
    return run


@dataclass
class InProcessRun:
    output: Output
    logs: str
    error: BaseException | None = None


def run_in_process(config: dict, *, state: dict | None = None,
                   streams: Iterable[str] | None = None, sandbox: Sandbox | None = None,
                   secrets: Iterable[str] = (),
                   expect_error: bool = False) -> InProcessRun:
    """A sync in this process; stdout and every log record are captured and secret-scanned."""
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
        cat = catalog(config, streams) if streams is not None else None
        with contextlib.redirect_stdout(text):
            try:
                tap = TapSpotifyBulk(config=config, state=state, catalog=cat,
                                     parse_env_config=False)
                tap.sync_all()
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
    run = InProcessRun(Output.parse(raw.getvalue()), logs.getvalue(), error)
    assert_no_secrets(all_secrets(sandbox, secrets), raw.getvalue(), run.logs, str(error or ""))
    return run


# -- secrets ----------------------------------------------------------------------------


def secrets_of(sb: Sandbox) -> list[str]:
    """Every secret a run against `sb` handled: client secrets, refresh tokens (original and
    rotated), issued access tokens, and the Basic credentials as sent on the wire."""
    o = sb.options
    found = [o.client_secret, o.ads_client_secret, *sb.app.tokens.refresh_tokens,
             *sb.app.tokens.access_tokens()]
    for user, password in ((o.client_id, o.client_secret),
                           (o.ads_client_id, o.ads_client_secret)):
        found.append(base64.b64encode(f"{user}:{password}".encode()).decode())
    return [s for s in found if s]


def all_secrets(sandbox: Sandbox | None, extra: Iterable[str] = ()) -> list[str]:
    """`extra` plus, when given, every secret of `sandbox` (read after the run, so rotated
    refresh tokens and issued access tokens are included)."""
    return [*extra, *(secrets_of(sandbox) if sandbox is not None else [])]


def assert_no_secrets(secrets: Iterable[str], *blobs: bytes | str) -> int:
    """No secret occurs in any blob; returns how many bytes were scanned."""
    scanned = 0
    for blob in blobs:
        text = blob.decode(errors="replace") if isinstance(blob, bytes) else blob
        scanned += len(text)
        for secret in secrets:
            assert secret not in text, "a secret leaked into the output"
    return scanned


def scan_tree(secrets: Iterable[str], directory: Path) -> int:
    """Scan every file under `directory` (except the configs we wrote, which hold them)."""
    scanned = 0
    for path in directory.rglob("*"):
        if path.is_file() and not path.name.startswith("config-"):
            scanned += assert_no_secrets(secrets, path.read_bytes())
    return scanned
