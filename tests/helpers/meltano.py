"""Meltano in tests: run the repository's Meltano project against a sandbox, and tally what
landed in PostgreSQL, DuckDB or JSONL files the same way the sandbox tallies its truth.

The Meltano project is the repository's meltano.yml, but each `MeltanoProject` keeps its own
`.meltano` directory (plugin virtualenvs, run files; `MELTANO_SYS_DIR_ROOT`) and system
database (`MELTANO_DATABASE_URI`) beside the given database path: concurrent sessions (a
demo, a benchmark, another pytest) cannot delete each other's run files or share state.
Plugins are installed once per `MeltanoProject` (a few seconds with a warm pip/uv cache);
each test uses its own state-id suffix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import typing as t
from collections import Counter
from pathlib import Path

from spotify_sandbox.tally import BULK_FIELDS, BULK_PRIMARY_KEYS, Tally

from helpers.ads import ads_keys

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REPO = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).with_name("meltano"))
ENVIRONMENT = "dev"

BULK_KEYS = BULK_PRIMARY_KEYS  # api-contract §5.1
PLUGIN_PREFIXES = ("TAP_SPOTIFY_BULK_", "TARGET_POSTGRES_", "TARGET_JSONL_", "TARGET_DUCKDB_")


def plugin_env(prefix: str, config: Mapping[str, t.Any]) -> dict[str, str]:
    """Meltano's env-var form of plugin settings: PREFIX + NAME, JSON for lists/objects."""
    env = {}
    for name, value in config.items():
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, list | dict | bool) else str(value)
        env[f"{prefix}{name.upper()}"] = text
    return env


class MeltanoProject:
    """The repository's meltano.yml, run with a private `.meltano` directory and system
    database, both beside `database_path`."""

    def __init__(self, database_path: Path) -> None:
        self.database_uri = f"sqlite:///{database_path}"
        self.sys_dir = database_path.parent / ".meltano"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(PLUGIN_PREFIXES)}
        base.update({
            "MELTANO_DATABASE_URI": self.database_uri,
            "MELTANO_SYS_DIR_ROOT": str(self.sys_dir),
            "MELTANO_ENVIRONMENT": ENVIRONMENT,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_HUB_URL": "http://127.0.0.1:9",  # prove the Hub is never needed
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        })
        base.update(extra or {})
        return base

    def meltano(self, *args: str, env: Mapping[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `meltano ARGS` in the project; fail with the output's tail when it fails."""
        done = subprocess.run(
            [MELTANO, *args], cwd=REPO, env=self.env(env), capture_output=True, text=True,
            timeout=timeout, check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
            msg = f"meltano {' '.join(args)} exited {done.returncode}:\n{tail}"
            raise AssertionError(msg)
        return done

    def run(self, loader: str, suffix: str,
            env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        """`meltano run tap-spotify-bulk LOADER` with its own state id (suffix)."""
        return self.meltano("run", "--refresh-catalog", "--state-id-suffix", suffix,
                            "tap-spotify-bulk", loader, env=env)

    def state(self, loader: str, suffix: str) -> dict[str, t.Any]:
        state_id = f"{ENVIRONMENT}:tap-spotify-bulk-to-{loader}:{suffix}"
        out = self.meltano("state", "get", state_id).stdout
        return json.loads(out[out.index("{"):])


def pg_connect_kwargs(postgres: Mapping[str, str]) -> dict[str, str]:
    """psycopg.connect() arguments from the PG* variables printed by scripts/postgres."""
    return {"host": postgres["PGHOST"], "port": postgres["PGPORT"], "user": postgres["PGUSER"],
            "password": postgres["PGPASSWORD"], "dbname": postgres["PGDATABASE"]}


def target_postgres_env(postgres: Mapping[str, str], schema: str) -> dict[str, str]:
    """target-postgres settings (env-var form) loading into `schema`."""
    kwargs = pg_connect_kwargs(postgres)
    return plugin_env("TARGET_POSTGRES_", {
        "host": kwargs["host"], "port": kwargs["port"], "user": kwargs["user"],
        "password": kwargs["password"], "database": kwargs["dbname"],
        "default_target_schema": schema,
    })


def bookmarks(state: Mapping[str, t.Any]) -> dict[str, str]:
    """{stream: replication_key_value} of a Singer state saved by Meltano."""
    streams = state.get("singer_state", state).get("bookmarks", {})
    return {name: s.get("replication_key_value") for name, s in streams.items()
            if s.get("replication_key_value")}


def tally_rows(stream: str, rows: Iterable[Mapping[str, t.Any]]) -> dict[str, t.Any]:
    return Tally.for_bulk_stream(stream).add_all(rows).summary()


def repeated_rows(rows: Iterable[Mapping[str, t.Any]], keys: tuple[str, ...]) -> int:
    """How many rows repeat an earlier row's primary key."""
    seen = Counter(tuple(str(row.get(k)) for k in keys) for row in rows)
    return sum(n - 1 for n in seen.values())


def compare_ads(truth: Mapping[str, Mapping[str, t.Any]], reports: Iterable[Mapping[str, t.Any]],
                rows_of: t.Callable[[str, list[str]], list[dict[str, t.Any]] | None],
                ) -> dict[str, t.Any]:
    """Like `compare_bulk`, for Ads report tables."""
    problems: dict[str, t.Any] = {}
    for report in reports:
        keys = ads_keys(report)
        tally = Tally.for_ads_report(report)
        rows = rows_of(report["table"], list(dict.fromkeys(tally.fields))) or []
        landed = tally.add_all(rows).summary()
        dupes = repeated_rows(rows, keys)
        if landed != truth[report["table"]] or dupes:
            problems[report["table"]] = {"landed": landed, "expected": truth[report["table"]],
                                         "duplicate_keys": dupes}
    return problems


def postgres_rows(conn: t.Any, schema: str, table: str,
                  columns: list[str] | None = None) -> list[dict[str, t.Any]] | None:
    """Every row of schema.table as dicts (the tally and key columns of a Bulk stream, or
    `columns`), None if the table does not exist."""
    from psycopg import sql  # noqa: PLC0415 (dev extra)

    columns = columns or _columns_of(table)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',))
        if cur.fetchone()[0] is None:
            return None
        cur.execute(sql.SQL("SELECT {} FROM {}.{}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(schema), sql.Identifier(table)))
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def duckdb_rows(conn: t.Any, schema: str, table: str) -> list[dict[str, t.Any]] | None:
    columns = _columns_of(table)
    found = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchone()[0]
    if not found:
        return None
    select = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(f'SELECT {select} FROM "{schema}"."{table}"').fetchall()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def jsonl_rows(directory: Path, table: str) -> list[dict[str, t.Any]] | None:
    path = directory / f"{table}.jsonl"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _columns_of(table: str) -> list[str]:
    return list(BULK_FIELDS[table])


def compare_bulk(truth: Mapping[str, Mapping[str, t.Any]],
                 rows_of: t.Callable[[str], list[dict[str, t.Any]] | None]) -> dict[str, t.Any]:
    """{stream: (landed, expected)} for every Bulk stream whose landed rows differ from the
    truth or repeat a primary key; empty when everything matches."""
    problems: dict[str, t.Any] = {}
    for stream, expected in truth.items():
        rows = rows_of(stream) or []
        landed = tally_rows(stream, rows)
        dupes = repeated_rows(rows, BULK_KEYS[stream])
        if landed != expected or dupes:
            problems[stream] = {"landed": landed, "expected": expected, "duplicate_keys": dupes}
    return problems


DATA_FILE = re.compile(r"/enhanced/[a-z_0-9]+/(\d{4})/(\d{2})/(\d{2})(/[A-Z]{2})?/?$")


def requested_days(request_log: list[dict[str, t.Any]]) -> set[dt.date]:
    """Report days whose Bulk data files (or per-day listings) the tap asked for, from the
    sandbox's request log."""
    days = set()
    for entry in request_log:
        match = DATA_FILE.search(entry["path"].split("?")[0])
        if match:
            days.add(dt.date(*map(int, match.groups()[:3])))
    return days
