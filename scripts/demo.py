"""The demo behind scripts/demo: sandbox -> `meltano run tap-spotify-bulk target-duckdb
dbt-duckdb:build` -> the sandbox restates a day -> a second run from state -> the raw tables
and the dbt `current_*` models next to the sandbox's ground truth, and a few mart rows (the
Ads campaign mart per currency).

The sandbox runs in this process (a thread); Meltano, the tap, the target and dbt run as
child processes that reach it over 127.0.0.1, exactly as they would reach Spotify. Their
output goes to `output/demo.log` (`--verbose`: to the terminal), so the screen shows one
line per step and ends with the summary: what landed next to the truth, and the verdict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from spotify_sandbox import Sandbox, SandboxOptions
from spotify_sandbox.tally import BULK_TALLY_FIELDS, Tally

REPO = Path(__file__).resolve().parents[1]
DATABASE = REPO / "output" / "warehouse.duckdb"
LOG = REPO / "output" / "demo.log"
SCHEMA = "spotify"
BIN = Path(sys.executable).parent
PIPELINE = ("tap-spotify-bulk", "target-duckdb", "dbt-duckdb:build")
# The Ads report behind mart_ads_campaign_daily; the sandbox's ad accounts have different
# currencies, which the mart keeps apart.
ADS_REPORTS = [{"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "CLICKS", "SPEND", "STREAMS"]}]


def meltano(*args: str, env: dict[str, str], verbose: bool) -> float:
    """Run meltano, its output appended to `LOG` (or on this terminal with `verbose`), and
    return its wall time; stop the demo, with the log's tail, if it fails."""
    command = f"meltano {' '.join(args)}"
    print(f"demo: {command} ...", flush=True)
    began = time.monotonic()
    if verbose:
        done = subprocess.run([str(BIN / "meltano"), *args], cwd=REPO, env=env, check=False)  # noqa: S603
    else:
        with LOG.open("a", encoding="utf-8") as log:
            log.write(f"\n==== {command}\n")
            log.flush()
            done = subprocess.run([str(BIN / "meltano"), *args], cwd=REPO, env=env,  # noqa: S603
                                  stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        if not verbose:
            print("\n".join(LOG.read_text(encoding="utf-8").splitlines()[-30:]))
        where = "" if verbose else f" (the whole output: {LOG.relative_to(REPO)})"
        sys.exit(f"demo: `{command}` failed with exit code {done.returncode}{where}")
    return time.monotonic() - began


def landed(conn: duckdb.DuckDBPyConnection, stream: str, table: str) -> dict | None:
    """Tally.summary() of a DuckDB table, None when the table does not exist."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = ?", [SCHEMA, table]).fetchone()[0]
    if not exists:
        return None
    fields, metrics = BULK_TALLY_FIELDS[stream]
    columns = list(dict.fromkeys((*fields, *metrics)))
    select = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.execute(f'SELECT {select} FROM "{SCHEMA}"."{table}"')  # noqa: S608
    tally = Tally(fields, metrics)
    while rows := cursor.fetchmany(10_000):
        tally.add_all(dict(zip(columns, row, strict=True)) for row in rows)
    return tally.summary()


def truth_check(truth: dict[str, dict]) -> tuple[list[str], int]:
    """Raw table and current_ model counts next to the truth (lines of a table), and the
    number of current_* models that differ from it."""
    lines = [f"  {'stream':<28} {'raw rows':>9} {'current_':>9} {'truth':>9}  current_ = truth"]
    failures = 0
    with duckdb.connect(str(DATABASE), read_only=True) as conn:
        for stream, expected in truth.items():
            raw = landed(conn, stream, stream) or {"count": 0}
            current = landed(conn, stream, f"current_{stream}")
            ok = current == expected
            failures += not ok
            lines.append(f"  {stream:<28} {raw['count']:>9} "
                         f"{(current or {'count': 0})['count']:>9} {expected['count']:>9}  "
                         f"{'yes' if ok else 'NO (count, checksum or sums)'}")
    return lines, failures


def show_marts(day: dt.date) -> None:
    with duckdb.connect(str(DATABASE), read_only=True) as conn:
        print(f"\ndemo: mart_top_tracks, {day}:")
        print(conn.sql(f"SELECT track_rank, track_name, artist_name, streams, skips, saves, "  # noqa: S608
                       f"round(skip_rate, 3) AS skip_rate FROM {SCHEMA}.mart_top_tracks "
                       f"WHERE report_date = DATE '{day}' ORDER BY track_rank LIMIT 5"))
        print(f"demo: mart_streams_daily, {day}, biggest track x country rows:")
        print(conn.sql(f"SELECT isrc, country, stream_events, listeners, streams, "  # noqa: S608
                       f"round(skip_rate, 3) AS skip_rate, round(save_rate, 3) AS save_rate "
                       f"FROM {SCHEMA}.mart_streams_daily WHERE report_date = DATE '{day}' "
                       f"ORDER BY streams DESC LIMIT 5"))
        print(f"demo: mart_listener_demographics, {day}, all countries:")
        print(conn.sql(f"SELECT gender, sum(streams) AS streams, sum(listeners) AS listeners "  # noqa: S608
                       f"FROM {SCHEMA}.mart_listener_demographics WHERE report_date = "
                       f"DATE '{day}' GROUP BY gender ORDER BY streams DESC"))
        print("demo: mart_ads_campaign_daily, the last 30 days, per currency (amounts of "
              "different currencies are never added):")
        print(conn.sql(f"SELECT currency_code, count(DISTINCT ad_account_id) AS accounts, "  # noqa: S608
                       f"count(DISTINCT campaign_id) AS campaigns, sum(impressions) AS "
                       f"impressions, round(sum(spend), 2) AS spend, round(sum(spend) / "
                       f"nullif(sum(impressions), 0) * 1000, 2) AS e_cpm FROM "
                       f"{SCHEMA}.mart_ads_campaign_daily WHERE report_date >= current_date - 30 "
                       f"GROUP BY currency_code ORDER BY currency_code"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="report days to serve and load")
    parser.add_argument("--scale", type=int, default=2000, help="stream events per day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-restate", action="store_true",
                        help="skip the restated day and the second run")
    parser.add_argument("--verbose", action="store_true",
                        help=f"Meltano's and dbt's output on the terminal, not in "
                        f"{LOG.relative_to(REPO)}")
    args = parser.parse_args()

    start = dt.date(2024, 3, 1)
    end = start + dt.timedelta(days=args.days - 1)
    options = SandboxOptions(seed=args.seed, start=start, end=end, scale=args.scale,
                             empty_day_rate=0.0)
    DATABASE.parent.mkdir(exist_ok=True)
    DATABASE.unlink(missing_ok=True)  # a fresh warehouse, loaded with --full-refresh below
    LOG.write_text("", encoding="utf-8")
    summary: list[str] = []

    with Sandbox(options) as sb:
        print(f"demo: sandbox on {sb.base_url}, serving {start} .. {end} "
              f"({len(options.countries)} countries, {args.scale} stream events a day)")
        if not args.verbose:
            print(f"demo: Meltano's and dbt's output goes to {LOG.relative_to(REPO)} "
                  "(scripts/demo --verbose shows it here)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SPOTIFY_BULK_")}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        config = sb.tap_config(lookback_days=3, ads_report_list=ADS_REPORTS,
                               ads_timeframe_months="THREE")
        for name, value in config.items():
            env[f"TAP_SPOTIFY_BULK_{name.upper()}"] = (
                json.dumps(value) if isinstance(value, list | dict) else str(value))
        env["TARGET_DUCKDB_PATH"] = str(DATABASE)
        env["TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA"] = SCHEMA

        verbose = args.verbose
        meltano("install", env=env, verbose=verbose)
        seconds = meltano("run", "--full-refresh", *PIPELINE, env=env, verbose=verbose)
        lines, failures = truth_check(sb.bulk_truth())
        summary += [f"demo: `meltano run {' '.join(PIPELINE)}` took {seconds:.1f} s; landed in "
                    f"{DATABASE.relative_to(REPO)} (schema {SCHEMA}):", "", *lines]
        if not args.no_restate:
            restated = end - dt.timedelta(days=1)
            sb.restate(restated)
            print(f"demo: Spotify corrects {restated} (shorter files, a country gone, tracks "
                  f"removed, new values); a second run reads the lookback window again")
            meltano("run", *PIPELINE, env=env, verbose=verbose)
            lines, restated_failures = truth_check(sb.bulk_truth())
            failures += restated_failures
            summary += ["", "demo: after the correction, the raw tables keep the corrected "
                        "day's stale rows; the current_* models hold exactly the latest "
                        "complete read:", "", *lines]

    show_marts(end - dt.timedelta(days=1))
    print("\n" + "\n".join(summary) + "\n")
    print(f"demo: explore it with: {BIN / 'python'} -c \"import duckdb; "
          f"print(duckdb.connect('{DATABASE.relative_to(REPO)}').sql('SHOW ALL TABLES'))\"")
    if not verbose:
        print(f"demo: Meltano's and dbt's output: {LOG.relative_to(REPO)}")
    print("demo: " + ("every current_* model matches the truth." if not failures
                      else f"{failures} current_* model(s) differ from the truth."))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
