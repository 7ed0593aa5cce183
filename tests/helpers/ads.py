"""Ads report tables in tests: their primary keys, the windows the tap asked, the report
requests the sandbox answered, the tally of what landed (upserted on the key, as a target
would), and late attribution credited through the sandbox's admin call."""

from __future__ import annotations

import collections
import datetime as dt
import typing as t

import requests
from spotify_sandbox.tally import Tally, ads_report_keys, canonical

from helpers.run import run_tap
from tap_spotify_bulk.ads.token_store import APP_DIRECTORY, TokenStore

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from helpers.singer import Output



ads_keys = ads_report_keys  # api-contract §5.3 primary key of an item's table


def key_of(report: Mapping[str, t.Any], record: Mapping[str, t.Any]) -> tuple[str, ...]:
    """A record's primary key as a target compares it (one instant, however spelled)."""
    return tuple(canonical(record.get(k)) for k in ads_keys(report))


def repeated_keys(report: Mapping[str, t.Any], records: Iterable[Mapping[str, t.Any]]) -> list:
    counts = collections.Counter(key_of(report, r) for r in records)
    return [k for k, n in counts.items() if n > 1]


def landed(report: Mapping[str, t.Any], records: Iterable[Mapping[str, t.Any]]) -> dict:
    """Tally of what a target holds after upserting `records` in order on the key."""
    latest = {key_of(report, r): r for r in records}
    return Tally.for_ads_report(report).add_all(latest.values()).summary()


def run_ads(config: dict, state: dict | None = None, **kwargs: t.Any) -> Output:
    """`run_tap` with only the config's Ads report tables selected."""
    tables = [r["table"] for r in config.get("ads_report_list", [])]
    return run_tap(config, state=state, streams=tables, **kwargs)


def aggregate_windows(sb: t.Any, account: str | None = None,
                      granularity: str = "DAY") -> list[tuple[str, str]]:
    """(report_start, report_end) of every aggregate report window the sandbox was asked
    (first pages only), in order."""
    return [(e["report_start"], e["report_end"]) for e in sb.ads_api.report_log
            if e["kind"] == "aggregate" and not e["continued"]
            and e["granularity"] == granularity and (account is None or e["account"] == account)]


def report_requests(sb: t.Any) -> int:
    """Ads report requests (aggregate and insight, every page and retry) in the sandbox's
    request log."""
    return sum(1 for e in sb.request_log if e["kind"] == "ads"
               and e["path"].rstrip("/").endswith(("/aggregate_reports", "/insight_reports")))


def credit_late_conversions(sb: t.Any, day: dt.date) -> dict:
    """Credit more conversions and revenue to `day` of every ad with a pixel, through the
    sandbox's admin call; its answer ({"date", "credits", "ads_credited"})."""
    response = requests.post(f"{sb.base_url}/_sandbox/ads/late_conversions",
                             params={"date": day.isoformat()}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def sync_ads(config: dict, state: dict | None = None,
             **kwargs: t.Any) -> tuple[dict[str, list[dict]], dict | None]:
    """`run_ads`, as (records per table, last STATE value)."""
    output = run_ads(config, state, **kwargs)
    return output.records, output.state


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (the month's last day when shorter):
    the first DAY-report day of a first sync, worked out here rather than by the tap."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    following = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return dt.date(year, month + 1, min(day.day, (following - dt.timedelta(days=1)).day))


def stored_refresh_token(state_home: Path, config: Mapping[str, t.Any]) -> str | None:
    """The Ads refresh token the tap keeps for `config`'s Ads app in the token store's
    default place under `state_home` (the test's `XDG_STATE_HOME`)."""
    store = TokenStore(state_home / APP_DIRECTORY, config["ads_client_id"])
    with store.locked():
        entry = store.read()
    return entry.refresh_token if entry else None
