"""Kill and resume on the Ads API: `kill -9` a sync of a DAY report (incremental per ad
account) and a LIFETIME report (full snapshot) at seeded-random points, resume each time
from the last STATE printed; the union of all outputs, upserted on the primary key, equals
the sandbox's Ads truth. The tap process runs with the Ads clock frozen at the sandbox's.
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import signal
import typing as t

from _tap import assert_no_secrets as no_secrets
from _tap import clean_env, command, secrets_of, unique_credentials, write_inputs
from _watched import run_until_killed
from spotify_sandbox.tally import ADS_KEYS_LIFETIME, ADS_KEYS_TIMESERIES, Tally

from tap_spotify_bulk.ads import windows

if t.TYPE_CHECKING:
    from pathlib import Path

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}
LIFETIME_AD = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "CLICKS"]}
REPORTS = {"campaign_day": (DAY_CAMPAIGN, ADS_KEYS_TIMESERIES),
           "ad_lifetime": (LIFETIME_AD, ADS_KEYS_LIFETIME)}
KILLS = 8
SEED = 615


def test_kill_9_an_ads_sync_and_resume(sandbox_factory, tmp_path: Path):
    sb = sandbox_factory(ads={"now": NOW, "page_unit": "row"}, latency_ms=25,
                         **unique_credentials())
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN, LIFETIME_AD],
                           ads_timeframe_months="THREE", ads_lookback_days=3)
    streams = list(REPORTS)
    env = clean_env()
    rng = random.Random(SEED)
    state: dict | None = None
    outputs, stderrs, kill_points = [], [], []
    while len(kill_points) < KILLS:
        if len(kill_points) % 2:
            limit = {"lines": rng.randint(2, 60)}
        else:  # output comes in bursts (one flush per STATE): time hits between them too
            limit = {"seconds": rng.uniform(0.3, 1.2)}
        argv = [*command(frozen_now=NOW), *write_inputs(tmp_path, config, state, streams)]
        run = run_until_killed(argv, env, **limit)
        outputs.append(run.output)
        stderrs.append(run.stderr)
        if not run.killed:
            assert run.returncode == 0, run.stderr[-3000:]
            state = None  # finished: the next run is a new sync from scratch
            continue
        assert run.returncode == -signal.SIGKILL
        state = run.output.state or state
        done = {k: len(v) for k, v in run.output.records.items()}
        kill_points.append(f"{next(iter(limit))}={next(iter(limit.values())):.3g} {done}")

    argv = [*command(frozen_now=NOW), *write_inputs(tmp_path, config, state, streams)]
    final = run_until_killed(argv, env, timeout=180)
    assert not final.killed
    assert final.returncode == 0, final.stderr[-3000:]
    outputs.append(final.output)
    stderrs.append(final.stderr)

    truth = sb.ads_truth([DAY_CAMPAIGN, LIFETIME_AD], start=windows.months_back(TODAY, 3),
                         end=TODAY - dt.timedelta(days=1))
    for table, (report, keys) in REPORTS.items():
        landed: dict[tuple, dict] = {}
        for output in outputs:
            rows = output.records.get(table, [])
            counts = collections.Counter(tuple(r[k] for k in keys) for r in rows)
            assert [k for k, n in counts.items() if n > 1] == [], f"{table}: key twice"
            landed.update((tuple(r[k] for k in keys), r) for r in rows)
        columns = [f.lower() for f in report["fields"]]
        summary = Tally.for_ads_report(keys, columns).add_all(landed.values()).summary()
        assert summary == truth[table], table
    secrets = secrets_of(sb)
    for output, stderr in zip(outputs, stderrs, strict=True):
        no_secrets(secrets, repr(output.messages), stderr)
    print(f"ads kill points: {kill_points}")
