"""Kill and resume on the Ads API: `kill -9` a sync of a DAY report (incremental per ad
account) and a LIFETIME report (full snapshot) right after its k-th DAY-report STATE (k
seeded-random, STATE every 10 DAY rows, so every kill lands inside the DAY report), and
resume each time from the last STATE printed (a run that ends before its k-th STATE is a
completed cycle: checked whole against the truth, and the next run starts afresh). The
tap process runs with the Ads clock frozen at the sandbox's, against a token endpoint that
rotates the refresh token at every refresh (one-second access tokens, so kills also land
between refreshes) and revokes the old one; every run is given the same configuration, so
each one after a kill relies on the token store the killed run left. Checked after every kill:

* the kill landed inside the DAY report (DAY rows out and DAY STATEs, not finished);
* for each ad account, the DAY rows landed so far before its bookmark day equal the truth
  of those days: the bookmark is never ahead of the data;
* the next run asks each such account's DAY report (once it gets to it) from its bookmark's
  day or the first of the last 3 days (the lookback), whichever is earlier, not from any
  other day;

and at the end, the outputs since the last completed cycle, upserted on the primary key,
equal the truth.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
import typing as t

import orjson
from helpers.ads import aggregate_windows, landed, repeated_keys
from helpers.run import clean_env, command, write_inputs
from helpers.secrets import assert_no_secrets, secrets_of, unique_credentials
from helpers.watched import run_until_killed

if t.TYPE_CHECKING:
    from pathlib import Path

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
FIRST_DAY, YESTERDAY = dt.date(2026, 3, 15), dt.date(2026, 6, 14)  # THREE months back
LOOKBACK = 3
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}
LIFETIME_AD = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "CLICKS"]}
REPORTS = {"campaign_day": DAY_CAMPAIGN, "ad_lifetime": LIFETIME_AD}
STATE_EVERY = 10  # DAY rows between STATE messages
KILLS = 8
SEED = 615


def day_bookmarks(state: dict | None) -> dict[str, dt.date]:
    """{ad account: DAY bookmark day} of a Singer state."""
    parts = ((state or {}).get("bookmarks", {}).get("campaign_day", {})).get("partitions", [])
    return {p["context"]["ad_account_id"]: dt.date.fromisoformat(p["replication_key_value"][:10])
            for p in parts if p.get("replication_key_value")}


def after_day_states(k: int, state: dict | None) -> t.Callable[[bytes], bool]:
    """True for the stdout line that is the k-th STATE moving a DAY bookmark of `state`
    (the run's input, which it echoes first)."""
    seen: dict[str, t.Any] = {"count": 0, "last": day_bookmarks(state)}

    def check(line: bytes) -> bool:
        if not line.startswith(b'{"type":"STATE"'):
            return False
        marks = day_bookmarks(orjson.loads(line)["value"])
        if marks and marks != seen["last"]:
            seen["count"] += 1
            seen["last"] = marks
        return seen["count"] == k

    return check


def test_kill_9_inside_the_day_report_and_resume(sandbox_factory, tmp_path: Path, figures):
    sb = sandbox_factory(ads={"now": NOW, "page_unit": "row"}, latency_ms=5,
                         rotate_refresh_token=True, token_lifetime=1, **unique_credentials())
    config = sb.tap_config(ads_report_list=list(REPORTS.values()),
                           ads_timeframe_months="THREE", ads_lookback_days=LOOKBACK)
    argv = [*command(frozen_now=NOW, ads_state_every=STATE_EVERY)]
    env = clean_env()
    rng = random.Random(SEED)
    truth_of_days: dict[tuple, dict] = {}

    def truth_before(account: str, day: dt.date) -> dict:
        if (account, day) not in truth_of_days:
            truth_of_days[account, day] = sb.ads_truth(
                [DAY_CAMPAIGN], accounts=[account], start=FIRST_DAY,
                end=day - dt.timedelta(days=1))["campaign_day"]
        return truth_of_days[account, day]

    truth = sb.ads_truth(list(REPORTS.values()), start=FIRST_DAY, end=YESTERDAY)

    def assert_cycle_exact(cycle: list) -> None:
        for table, report in REPORTS.items():
            for output in cycle:
                assert repeated_keys(report, output.records[table]) == [], f"{table}: twice"
            rows = [r for output in cycle for r in output.records[table]]
            assert landed(report, rows) == truth[table], table

    state: dict | None = None
    outputs, stderrs, kill_points, cycle = [], [], [], []
    completed_cycles = 0
    while len(kill_points) < KILLS:
        k = rng.randint(1, 4)
        sb.wait_idle()  # a request of the killed run may still be in hand: logged first
        sb.ads_api.report_log.clear()
        run = run_until_killed([*argv, *write_inputs(tmp_path, config, state, REPORTS)],
                               env, when=after_day_states(k, state))
        outputs.append(run.output)
        stderrs.append(run.stderr)
        cycle.append(run.output)
        for account, bookmark in day_bookmarks(state).items():  # resumed where it should
            asked = aggregate_windows(sb, account)
            if asked or not run.killed:
                first = min(bookmark, NOW.date() - dt.timedelta(days=LOOKBACK))
                assert asked[0][0] == f"{first}T00:00:00Z"
        if not run.killed:  # it finished before its k-th DAY STATE: a whole cycle, exact
            assert run.returncode == 0, run.stderr[-3000:]
            assert_cycle_exact(cycle)
            completed_cycles += 1
            state, cycle = None, []
            continue
        assert run.returncode == -signal.SIGKILL
        assert run.output.records["campaign_day"], "killed before the DAY report"
        state = run.output.state
        marks = day_bookmarks(state)
        assert marks
        rows = [r for output in cycle for r in output.records["campaign_day"]]
        for account, bookmark in marks.items():
            done = [r for r in rows if r["ad_account_id"] == account
                    and r["start_time"][:10] < bookmark.isoformat()]
            assert landed(DAY_CAMPAIGN, done) == truth_before(account, bookmark), (
                account, bookmark)
        kill_points.append(f"after DAY STATE {k} ({len(run.output.records['campaign_day'])} "
                           f"DAY rows, bookmarks {sorted(str(d) for d in marks.values())})")

    sb.wait_idle()
    sb.ads_api.report_log.clear()
    final = run_until_killed([*argv, *write_inputs(tmp_path, config, state, REPORTS)], env,
                             timeout=180)
    assert not final.killed
    assert final.returncode == 0, final.stderr[-3000:]
    outputs.append(final.output)
    stderrs.append(final.stderr)
    assert set(day_bookmarks(final.output.state).values()) == {YESTERDAY}
    assert_cycle_exact([*cycle, final.output])  # the last cycle alone equals the truth
    assert len(sb.app.tokens.refresh_tokens) > len(outputs)  # rotated in every run
    secrets = secrets_of(sb)
    for output, stderr in zip(outputs, stderrs, strict=True):
        assert_no_secrets(secrets, output.raw, stderr)
    figures("kill and resume, Ads", kills_inside_the_day_report=len(kill_points),
            completed_cycles_checked=completed_cycles + 1)
    print(f"ads kill points: {kill_points}; completed cycles in between: {completed_cycles}")
