"""The COPY lane: one day's Singer output into PostgreSQL with `COPY`, in one transaction.

    tap-spotify-bulk ... |
        python -m tap_spotify_bulk_dagster.loading.copy_load --config c.json --day D

Reads the tap's SCHEMA, RECORD and BATCH (jsonl, optionally gzip, `file://`) messages and
streams each record into `COPY` as a typed row; PostgreSQL does no JSON work. Tables are the
ones target-postgres creates (same names, types and primary keys; `bulk_tables` makes them
first), so either loader can take over a schema. Everything of the day commits at once:

* a table with no row of the day yet gets the rows by `COPY` straight into it (an upsert onto
  an empty key range is an insert; a row of another day aborts the load);
* a table that holds the day already (a re-run) gets them by `COPY` into a temporary table
  and one `INSERT ... ON CONFLICT (keys) DO UPDATE` at the end, which leaves a row alone
  when it holds a newer read (`load_id`) than the one loading;
* the `bulk_loads` manifest records are upserted last, in the same transaction: a read is
  never listed before its rows are visible, and a killed load leaves nothing of the day.

A transaction-scoped advisory lock per schema and day makes two loads of one day take turns
(the second one then upserts); loads of different days write disjoint keys and run at once.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import orjson
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from tap_spotify_bulk_dagster.streams import LOADS_STREAM

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

try:
    from isal.igzip import open as gzip_open
except ImportError:  # pragma: no cover (a platform without isal wheels)
    gzip_open = gzip.open

DAY_COLUMN, LOAD_ID = "report_date", "load_id"
APPLICATION_NAME = "tap-spotify-bulk copy lane"
JSON_TYPES = {"json", "jsonb"}


class LoadError(RuntimeError):
    """The input or the warehouse does not allow the load (one line, says what to do)."""


@dataclass
class Table:
    """One stream's table: its columns in the tap's schema, keys, and how rows go in."""

    name: str
    columns: list[str]
    keys: list[str]
    json_at: list[int]  # positions of json/jsonb columns (their values are serialised)
    direct: bool  # no row of the day yet: COPY straight into the table
    rows: int = 0

    def row(self, record: dict[str, Any]) -> list[Any]:
        """The record's values in column order; a json column gets JSON text, `null` for a
        missing value (as target-postgres writes it)."""
        values = list(map(record.get, self.columns))
        for at in self.json_at:
            values[at] = orjson.dumps(values[at]).decode()
        return values


@dataclass
class DayLoad:
    """The load of one day into `schema`, inside the connection's open transaction."""

    conn: Any
    schema: str
    day: str
    tables: dict[str, Table] = field(default_factory=dict)
    manifest: list[dict[str, Any]] = field(default_factory=list)
    manifest_columns: list[str] = field(default_factory=list)
    manifest_keys: list[str] = field(default_factory=list)

    def begin(self) -> None:
        """Wait for any other load of this day to commit or roll back."""
        key = int.from_bytes(hashlib.blake2b(f"spotify-day:{self.schema}:{self.day}".encode(),
                                             digest_size=8).digest(), "big", signed=True)
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    def schema_message(self, stream: str, schema: dict[str, Any], keys: list[str]) -> None:
        if stream == LOADS_STREAM:
            self.manifest_columns, self.manifest_keys = list(schema.get("properties", {})), keys
        elif stream not in self.tables:
            self.tables[stream] = self._table(stream, list(schema.get("properties", {})), keys)

    def _table(self, name: str, columns: list[str], keys: list[str]) -> Table:
        types = dict(self.conn.execute(
            "SELECT column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s", (self.schema, name)).fetchall())
        if not types:
            msg = (f"table {self.schema}.{name} does not exist: materialize spotify/bulk_tables "
                   "first (target-postgres creates the tables)")
            raise LoadError(msg)
        missing = [column for column in columns if column not in types]
        if missing:
            msg = (f"table {self.schema}.{name} lacks the columns {missing}: load once with "
                   "SPOTIFY_LOADER=target-postgres (it adds them), then switch back")
            raise LoadError(msg)
        direct = DAY_COLUMN in keys and not self.conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = %s)").format(
                self._ident(name), sql.Identifier(DAY_COLUMN)), (self.day,)).fetchone()[0]
        if not direct:
            self.conn.execute(sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {}) ON COMMIT DROP")
                              .format(_stage(name), self._ident(name)))
        return Table(name=name, columns=columns, keys=keys, direct=direct,
                     json_at=[i for i, c in enumerate(columns) if types[c] in JSON_TYPES])

    def copy(self, stream: str, records: Iterable[dict[str, Any]]) -> None:
        """COPY `records` of one stream into its table (or its staging table)."""
        if stream == LOADS_STREAM:
            if not self.manifest_keys:
                msg = f"records of stream {stream!r} came before its SCHEMA message"
                raise LoadError(msg)
            self.manifest.extend(records)
            return
        table = self.tables.get(stream)
        if table is None:
            msg = f"records of stream {stream!r} came before its SCHEMA message"
            raise LoadError(msg)
        into = self._ident(table.name) if table.direct else _stage(table.name)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(into, _idents(table.columns))
        cursor = self.conn.cursor()
        # A writer thread sends the rows while this one formats the next ones.
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            write, row, rows = copy.write_row, table.row, 0
            for rows, record in enumerate(records, 1):  # noqa: B007 (counted after)
                write(row(record))
        table.rows += rows

    def finish(self) -> dict[str, int]:
        """Check what went in directly, upsert what was staged, then the manifest."""
        for table in self.tables.values():
            if table.direct:
                found = self.conn.execute(
                    sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                        self._ident(table.name), sql.Identifier(DAY_COLUMN)),
                    (self.day,)).fetchone()[0]
                if found != table.rows:
                    msg = (f"{table.name}: {table.rows} records loaded but {found} rows dated "
                           f"{self.day}: the input holds records of another day")
                    raise LoadError(msg)
            elif table.rows:
                self._upsert(table.name, table.columns, table.keys,
                             sql.SQL("SELECT {} FROM {}").format(_idents(table.columns),
                                                                 _stage(table.name)))
        if self.manifest:
            columns = self.manifest_columns
            self._upsert(LOADS_STREAM, columns, self.manifest_keys, sql.SQL(
                "SELECT {} FROM jsonb_populate_recordset(NULL::{}, %s::jsonb)").format(
                _idents(columns), self._ident(LOADS_STREAM)),
                (orjson.dumps(self.manifest).decode(),))
        return {name: table.rows for name, table in self.tables.items()} | {
            LOADS_STREAM: len(self.manifest)}

    def _upsert(self, name: str, columns: list[str], keys: list[str], rows: sql.Composable,
                params: tuple[Any, ...] = ()) -> None:
        """One INSERT ... ON CONFLICT (keys) DO UPDATE of `rows` (a SELECT) into `name`."""
        others = [c for c in columns if c not in keys]
        action = sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others)) \
            if others else sql.SQL("DO NOTHING")
        if LOAD_ID in others:  # an older read that commits later does not win
            action = sql.SQL("{} WHERE {} <= EXCLUDED.{}").format(
                action, sql.Identifier(self.schema, name, LOAD_ID), sql.Identifier(LOAD_ID))
        self.conn.execute(sql.SQL("INSERT INTO {} ({}) {} ON CONFLICT ({}) {}").format(
            self._ident(name), _idents(columns), rows, _idents(keys), action), params)

    def _ident(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)


def _stage(name: str) -> sql.Identifier:
    return sql.Identifier(f"stage_{name}")


def _idents(names: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def batch_records(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The records of a BATCH message's files (jsonl, gzip or not, on the local disk)."""
    encoding = message.get("encoding", {})
    if encoding.get("format") != "jsonl":
        msg = f"BATCH files of format {encoding.get('format')!r}: only jsonl is supported"
        raise LoadError(msg)
    for url in message["manifest"]:
        parsed = urlparse(url)
        if parsed.scheme not in ("", "file"):
            msg = f"BATCH file {url}: only local files (file://) are supported"
            raise LoadError(msg)
        opener = gzip_open if encoding.get("compression") == "gzip" else open
        with opener(Path(unquote(parsed.path)), "rb") as lines:
            for line in lines:
                if line.strip():
                    yield orjson.loads(line)


class Messages:
    """The Singer messages of a stream of lines, one at a time, with one of look-ahead."""

    def __init__(self, lines: IO[bytes]) -> None:
        self._lines = lines
        self._ahead: dict[str, Any] | None = None

    def next(self) -> dict[str, Any] | None:
        if self._ahead is not None:
            message, self._ahead = self._ahead, None
            return message
        for line in self._lines:
            if line.strip():
                return orjson.loads(line)
        return None

    def records_of(self, first: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The records of `first` and of the RECORD messages of its stream right after it."""
        yield first["record"]
        stream, loads = first["stream"], orjson.loads
        for line in self._lines:
            if not line.strip():
                continue
            message = loads(line)
            if message.get("type") != "RECORD" or message["stream"] != stream:
                self._ahead = message
                return
            yield message["record"]


def load(conn: Any, schema: str, day: str, lines: IO[bytes]) -> tuple[dict[str, int],
                                                                     bytes | None]:
    """Load the Singer messages of `lines` in one transaction; returns the rows per table and
    the last STATE message (to echo once committed)."""
    day_load, state = DayLoad(conn, schema, day), None
    source = Messages(lines)
    with conn.transaction():
        day_load.begin()
        while (message := source.next()) is not None:
            kind = message.get("type")
            if kind == "RECORD":
                day_load.copy(message["stream"], source.records_of(message))
            elif kind == "BATCH":
                day_load.copy(message["stream"], batch_records(message))
            elif kind == "SCHEMA":
                day_load.schema_message(message["stream"], message["schema"],
                                        message.get("key_properties") or [])
            elif kind == "STATE":
                state = orjson.dumps(message)
        counts = day_load.finish()
    return counts, state


def connect(config: dict[str, Any]) -> Any:
    import psycopg  # noqa: PLC0415

    return psycopg.connect(host=config["host"], port=config["port"], user=config["user"],
                           password=config["password"], dbname=config["database"],
                           application_name=APPLICATION_NAME)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tap_spotify_bulk_dagster.loading.copy_load",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True,
                        help="JSON: host, port, user, password, database, schema")
    parser.add_argument("--day", required=True, help="the report date (YYYY-MM-DD) loaded")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
        with contextlib.closing(connect(config)) as conn:
            counts, state = load(conn, config["schema"], args.day, sys.stdin.buffer)
    except (LoadError, OSError, ValueError, KeyError) as exc:
        print(f"copy lane: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # psycopg's errors: one line, the server's message
        first = str(exc).strip().splitlines()[:1]
        print(f"copy lane: {type(exc).__name__}: {first[0] if first else ''}", file=sys.stderr)
        return 1
    if state:
        sys.stdout.buffer.write(state + b"\n")
    print(f"copy lane: {args.day} committed {counts} in {time.monotonic() - started:.2f}s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
