"""The PostgreSQL warehouse: the loader of the Bulk day slices (the COPY lane, or
target-postgres), target-postgres's config, creating the tables once before partitions fan
out, and the Singer state of the incremental (Ads) runs.

Table creation is serialised with a PostgreSQL advisory lock: runs that start together
find the tables missing, one creates them (target-postgres fed the SCHEMA messages alone),
the others wait and then see them. Loads of different days then touch disjoint keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource

from tap_spotify_bulk_dagster.resources.tap import resolve_executable, write_private

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STATE_TABLE = "_singer_state"
COPY_LANE, TARGET_POSTGRES = "copy", "target-postgres"


class PostgresWarehouse(ConfigurableResource):
    """Where the reports land: a PostgreSQL schema, loaded by target-postgres."""

    host: str = "localhost"
    port: int = 5432
    user: str = ""
    password: str = ""
    database: str = ""
    schema_name: str = "spotify"
    target_executable: str = "target-postgres"
    use_copy: bool = True
    batch_size_rows: int = 0  # 0: the target's default
    bulk_loader: str = COPY_LANE  # Bulk day slices: "copy" (copy_load) or "target-postgres"

    def connect_kwargs(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "user": self.user,
                "password": self.password, "dbname": self.database}

    def connect(self, **kwargs: Any) -> Any:
        import psycopg  # noqa: PLC0415 (the orchestrate extra)

        return psycopg.connect(**self.connect_kwargs(), **kwargs)

    def target_command(self, workdir: Path) -> list[str]:
        config: dict[str, Any] = {
            "host": self.host, "port": self.port, "user": self.user,
            "password": self.password, "database": self.database,
            "default_target_schema": self.schema_name, "use_copy": self.use_copy,
            "validate_records": False, "add_record_metadata": False,
            "activate_version": False,
        }
        if self.batch_size_rows:
            config["batch_size_rows"] = self.batch_size_rows
        path = write_private(workdir / "target.json", config)
        return [resolve_executable(self.target_executable, "loaders"), "--config", str(path)]

    def bulk_load_command(self, workdir: Path, day: str) -> list[str]:
        """The loader of one Bulk day slice: the COPY lane (one transaction per day, see
        copy_load) or target-postgres."""
        if self.bulk_loader == TARGET_POSTGRES:
            return self.target_command(workdir)
        if self.bulk_loader != COPY_LANE:
            msg = (f"unknown Bulk loader {self.bulk_loader!r}: use {COPY_LANE!r} or "
                   f"{TARGET_POSTGRES!r}")
            raise ValueError(msg)
        path = write_private(workdir / "copy-load.json", {
            "host": self.host, "port": self.port, "user": self.user, "password": self.password,
            "database": self.database, "schema": self.schema_name})
        return [sys.executable, "-m", "tap_spotify_bulk_dagster.loading.copy_load",
                "--config", str(path), "--day", day]

    def existing_tables(self, names: list[str]) -> set[str]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_name = ANY(%s)", (self.schema_name, list(names))).fetchall()
        return {row[0] for row in rows}

    def ensure_tables(self, names: list[str], schema_messages: bytes, workdir: Path) -> list[str]:
        """Create the missing tables of `names` (SCHEMA messages into the target) under an
        advisory lock; returns the ones this call created."""
        if set(names) <= self.existing_tables(names):
            return []
        with self.connect(autocommit=True) as conn, self._schema_lock(conn):
            missing = sorted(set(names) - self.existing_tables(names))
            if missing:
                self._run_target(schema_messages, workdir)
                still = set(missing) - self.existing_tables(names)
                if still:
                    msg = f"target-postgres did not create the tables {sorted(still)}"
                    raise RuntimeError(msg)
            return missing

    @contextlib.contextmanager
    def exclusive(self, scope: str) -> Iterator[None]:
        """Holds the advisory lock `scope` of this schema for the block (one holder at a time,
        across processes)."""
        with self.connect(autocommit=True) as conn, self._schema_lock(conn, scope):
            yield

    @contextlib.contextmanager
    def _schema_lock(self, conn: Any, scope: str = "ddl") -> Iterator[None]:
        """A session advisory lock for `scope` (DDL: one creator at a time) in this schema."""
        key = int.from_bytes(hashlib.blake2b(
            f"spotify-{scope}:{self.schema_name}".encode(), digest_size=8).digest(), "big",
            signed=True)
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def _run_target(self, messages: bytes, workdir: Path) -> None:
        done = subprocess.run(  # noqa: S603 (the configured loader)
            self.target_command(workdir), input=messages, capture_output=True, check=False,
            cwd=workdir, timeout=600)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.decode(errors="replace").splitlines()[-20:])
            msg = f"target-postgres exited {done.returncode} creating tables:\n{tail}"
            raise RuntimeError(msg)

    # -- Singer state of incremental runs --------------------------------------------------
    def _state_table(self, conn: Any) -> str:
        from psycopg import sql  # noqa: PLC0415

        table = sql.Identifier(self.schema_name, STATE_TABLE)
        with self._schema_lock(conn):
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(self.schema_name)))
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (state_id text PRIMARY KEY, "
                                 "state jsonb NOT NULL, updated_at timestamptz NOT NULL "
                                 "DEFAULT now())").format(table))
        return table

    def get_state(self, state_id: str) -> dict[str, Any] | None:
        from psycopg import sql  # noqa: PLC0415

        with self.connect(autocommit=True) as conn:
            table = self._state_table(conn)
            row = conn.execute(sql.SQL("SELECT state FROM {} WHERE state_id = %s").format(
                table), (state_id,)).fetchone()
        return row[0] if row else None

    def put_state(self, state_id: str, state: dict[str, Any]) -> None:
        from psycopg import sql  # noqa: PLC0415

        with self.connect(autocommit=True) as conn:
            table = self._state_table(conn)
            conn.execute(sql.SQL(
                "INSERT INTO {} (state_id, state) VALUES (%s, %s) ON CONFLICT (state_id) "
                "DO UPDATE SET state = EXCLUDED.state, updated_at = now()").format(table),
                (state_id, json.dumps(state)))
