"""Contract audit of the Ads side (api-contract §2, §3, §5.3, §6): the tap against servers that
follow docs/api-contract.md and nothing more.

The sandbox's Ads answers are reshaped in flight (`reshape`) into what another conforming
server may send: other row order, other ISO forms, extra or missing optional keys, other
paging. The tap must land exactly the sandbox's ground truth, with unique primary keys.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest
from helpers.ads import ads_keys, key_of, repeated_keys
from helpers.ads import sync_ads as run_tap
from spotify_sandbox.routing import SandboxResponse
from spotify_sandbox.tally import Tally, canonical

from tap_spotify_bulk.ads import windows
from tap_spotify_bulk.errors import AccessError

if t.TYPE_CHECKING:
    from collections.abc import Callable

NOW = dt.datetime(2026, 3, 2, 7, 45, tzinfo=dt.UTC)  # 2026-03-01 is yesterday: a month edge
YESTERDAY = dt.date(2026, 3, 1)
THREE_MONTHS_BACK = dt.date(2025, 12, 2)  # the first DAY-report day of a THREE first sync
DAY_AD = {"table": "ad_day", "dimension": "AD", "granularity": "DAY",
          "fields": ["IMPRESSIONS", "CLICKS", "E_CPM"]}
HOUR_AD_SET = {"table": "ad_set_hour", "dimension": "AD_SET", "granularity": "HOUR",
               "fields": ["IMPRESSIONS", "SPEND"]}
LIFETIME_AD = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}
INSIGHT_GENDER = {"table": "gender_insights", "dimension": "GENDER",
                  "granularity": "LIFETIME", "fields": ["IMPRESSIONS", "REACH"]}
SMALL_WORLD = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 2,
               "ad_sets_per_campaign": 2, "ads_per_ad_set": 2}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(windows, "utc_now", lambda: NOW)


def ads_sandbox(sandbox_factory, **ads):
    return sandbox_factory(ads={"now": NOW, **SMALL_WORLD, **ads})


Reshaper = t.Callable[[str, dict, dict], dict]


def reshape(sb, change: Reshaper) -> None:
    """Let `change(path, query, body)` rewrite every 200 JSON answer of the Ads API."""
    api = sb.ads_api
    original = api.handle

    def handle(req):
        response = original(req)
        if response.status != 200:
            return response
        body = change(req.path, req.query, json.loads(response.body))
        return SandboxResponse(200, json.dumps(body).encode(), dict(response.headers))

    api.handle = handle


def assert_exact(report: dict, records: list[dict], truth: dict) -> None:
    """Unique primary keys (as a target compares them) and exactly the truth."""
    assert repeated_keys(report, records) == [], report["table"]
    columns = [f.lower() for f in report["fields"]]
    tally = Tally.for_ads_report(ads_keys(report), columns).add_all(records).summary()
    assert tally == truth[report["table"]], report["table"]


def truth_of(sb, reports: list[dict]) -> dict:
    out = {}
    for report in reports:
        if report["granularity"] == "DAY":
            out.update(sb.ads_truth([report], start=THREE_MONTHS_BACK,
                                    end=YESTERDAY))
        else:
            out.update(sb.ads_truth([report]))
    return out


def map_rows(body: dict, change: Callable[[dict], dict]) -> dict:
    if isinstance(body.get("rows"), list):
        body["rows"] = [change(row) for row in body["rows"]]
    return body


ALL_REPORTS = [DAY_AD, HOUR_AD_SET, LIFETIME_AD, INSIGHT_GENDER]


def run_all(sb) -> tuple[dict[str, list], dict | None]:
    return run_tap(sb.tap_config(ads_report_list=ALL_REPORTS, ads_timeframe_months="THREE"))


def assert_all_exact(sb, records: dict[str, list]) -> None:
    truth = truth_of(sb, [DAY_AD, LIFETIME_AD, INSIGHT_GENDER])
    first, last = sb.ads_api.default_hour_range(NOW)
    truth.update(sb.ads_truth([HOUR_AD_SET], start=first, end=last))
    for report in ALL_REPORTS:
        assert records[report["table"]], report["table"]
        assert_exact(report, records[report["table"]], truth)


def test_other_row_order_iso_forms_and_optional_keys(sandbox_factory):
    """§6 promises the row keys, not their order, ISO spelling or optional parts."""
    sb = ads_sandbox(sandbox_factory, page_unit="row")

    def other_server(path, query, body):
        def row(r):
            for name in ("start_time", "end_time"):
                if r.get(name):
                    r[name] = r[name].replace("Z", "+00:00")
            r.pop("parent_entity", None)
            r.pop("entity_status", None)
            r["unexpected"] = {"nested": [1, 2]}
            return r
        body = map_rows(body, row)
        if isinstance(body.get("rows"), list):
            body["rows"].reverse()
        body["extra_top_level"] = True
        return body

    reshape(sb, other_server)
    records, state = run_all(sb)
    assert_all_exact(sb, records)
    partitions = state["bookmarks"]["ad_day"]["partitions"]
    assert {canonical(p["replication_key_value"]) for p in partitions} == {
        canonical("2026-03-01T00:00:00Z")}


@pytest.mark.parametrize("last_token", ["", "absent"])
def test_the_last_page_may_end_with_an_empty_or_absent_token(sandbox_factory, last_token):
    sb = ads_sandbox(sandbox_factory, page_unit="row")

    def other_server(path, query, body):
        if "continuation_token" in body and body["continuation_token"] is None:
            if last_token == "absent":
                del body["continuation_token"]
            else:
                body["continuation_token"] = ""
        return body

    reshape(sb, other_server)
    records, _ = run_all(sb)
    assert_all_exact(sb, records)


def test_pages_that_repeat_a_row_never_repeat_a_primary_key(sandbox_factory):
    """A row-paged server whose pages overlap (entities added while paging) must not make
    the tap emit one key twice in a run: targets reject that in one batch."""
    sb = ads_sandbox(sandbox_factory, page_unit="row")
    last_row: dict[str, dict] = {}

    def overlapping(path, query, body):
        if "aggregate_reports" not in path or not body.get("rows"):
            return body
        rows = body["rows"]
        previous = last_row.get(path) if "continuation_token" in query else None
        last_row[path] = dict(rows[-1])
        if previous is not None:
            body["rows"] = [previous, *rows]
        return body

    reshape(sb, overlapping)
    records, _ = run_all(sb)
    assert_all_exact(sb, records)


def test_listings_paged_in_smaller_pages_without_totals(sandbox_factory):
    """A server may cap `limit` lower and leave `paging` out: read until an empty page."""
    sb = ads_sandbox(sandbox_factory, campaigns_per_account=7)

    def small_pages(path, query, body):
        for kind in ("ad_sets", "campaigns"):
            if isinstance(body.get(kind), list):
                body[kind] = body[kind][:4]
                body.pop("paging", None)
        return body

    reshape(sb, small_pages)
    records, _ = run_tap(sb.tap_config(ads_report_list=[INSIGHT_GENDER]))
    assert_exact(INSIGHT_GENDER, records["gender_insights"], truth_of(sb, [INSIGHT_GENDER]))
    assert sb.ads_api.stats["requests_ad_sets"] == 5  # 14 ad sets: 4 + 4 + 4 + 2 + empty


def test_no_business_means_no_records_and_no_error(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, n_businesses=0)
    records, _ = run_all(sb)
    assert all(not records[r["table"]] for r in ALL_REPORTS)
    assert sb.ads_api.stats.get("requests_aggregate_reports", 0) == 0


def test_times_without_an_offset_are_emitted_as_rfc3339_utc(sandbox_factory):
    """A server writing `2026-03-01T00:00:00` (UTC implied) must not make the tap emit a
    date-time that a validating target rejects (JSON Schema date-time needs an offset)."""
    sb = ads_sandbox(sandbox_factory)

    def naive(path, query, body):
        def row(r):
            for name in ("start_time", "end_time"):
                if r.get(name):
                    r[name] = r[name].removesuffix("Z")
            return r
        return map_rows(body, row)

    reshape(sb, naive)
    reports = [DAY_AD, LIFETIME_AD]
    records, _ = run_tap(sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE"))
    truth = truth_of(sb, reports)
    for report in reports:
        rows = records[report["table"]]
        assert_exact(report, rows, truth)
        for r in rows:
            for name in ("start_time", "end_time"):
                assert r[name].endswith("Z"), r[name]


def sync_through_429s(sandbox_factory, rate_window: float, rewrite) -> tuple[int, int]:
    """Sync a DAY and an insight report through a 3-requests-per-`rate_window` limit whose
    429 answers pass through `rewrite(headers)`; check the data is exact and return
    (429s sent, report requests the server admitted)."""
    sb = ads_sandbox(sandbox_factory, rate_limit=3, rate_window=rate_window)
    api = sb.ads_api
    original = api.handle

    def handle(req):
        response = original(req)
        if response.status == 429:
            rewrite(response.headers)
        return response

    api.handle = handle
    reports = [DAY_AD, INSIGHT_GENDER]
    records, _ = run_tap(sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE"))
    truth = truth_of(sb, reports)
    for report in reports:
        assert_exact(report, records[report["table"]], truth)
    sent = api.stats["sent_429"]
    requests = api.stats["requests_aggregate_reports"] + api.stats["requests_insight_reports"]
    return sent, requests - sent


def test_a_429_whose_reset_rounds_down_to_zero_is_not_a_hot_loop(sandbox_factory):
    """`X-RateLimit-Reset` is whole seconds: a server may say 0 while a fraction of a second
    remains, and send no `Retry-After`. The tap must still wait a little, not hammer."""

    def floor_reset(headers):
        headers.pop("Retry-After", None)
        headers["X-RateLimit-Reset"] = "0"

    sent, admitted = sync_through_429s(sandbox_factory, 1.0, floor_reset)
    assert sent <= 2 * admitted, (sent, admitted)


def test_a_business_whose_ad_accounts_are_not_visible_is_skipped(sandbox_factory, caplog):
    """ALL_ACCOUNTS means every ad account the token can see: a business listed by
    /businesses whose ad account list answers 403 (a role without access) or 404 (gone
    meanwhile) adds none, with a warning, and the other businesses are still read."""
    sb = ads_sandbox(sandbox_factory, n_businesses=3, shared_account=False)
    api = sb.ads_api
    world = api.world
    original = api.handle
    hidden = {world.businesses[0]["id"]: 403, world.businesses[2]["id"]: 404}

    def forbidden(req):
        parts = req.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "businesses" and parts[1] in hidden:
            status = hidden[parts[1]]
            body = {"sp_trace_id": "t", "messages": ["no access"],
                    "error_codes": [{"code": "FORBIDDEN", "definition": "no access"}]}
            return SandboxResponse(status, json.dumps(body).encode())
        return original(req)

    api.handle = forbidden
    records, _ = run_tap(sb.tap_config(ads_report_list=[LIFETIME_AD]))
    visible = world.account_ids[1]
    assert_exact(LIFETIME_AD, records["ad_lifetime"],
                 sb.ads_truth([LIFETIME_AD], accounts=[visible]))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum(world.businesses[0]["id"] in w for w in warnings) == 1
    assert sum(world.businesses[2]["id"] in w for w in warnings) == 1


def test_pasted_credentials_with_surrounding_whitespace_and_a_trailing_slash_url(
        sandbox_factory):
    """Secrets pasted from a file or a UI often carry a newline; tokens never contain
    whitespace, so the tap trims them rather than failing with invalid_grant."""
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[LIFETIME_AD], ads_api_url=sb.ads_api_url + "/",
                           ads_client_id=f" {sb.options.ads_client_id}",
                           ads_client_secret=f"{sb.options.ads_client_secret}\n",
                           ads_refresh_token=f"{sb.refresh_token}\r\n")
    records, _ = run_tap(config)
    assert_exact(LIFETIME_AD, records["ad_lifetime"], sb.ads_truth([LIFETIME_AD]))


def report_windows(sb, granularity: str) -> list[tuple[str, str]]:
    return [(e["report_start"], e["report_end"]) for e in sb.ads_api.report_log
            if e["kind"] == "aggregate" and not e["continued"]
            and e["granularity"] == granularity]


def test_next_runs_with_lookback_0_read_single_day_and_few_hour_windows(sandbox_factory,
                                                                         monkeypatch):
    """Incremental DAY/HOUR (§5.3): a run a day (or five hours) later with
    `ads_lookback_days` 0 asks only from the bookmark on: a single-day DAY window across
    a month edge (2026-03-01 -> 03-02), and an HOUR window ending at the last complete hour."""
    sb = ads_sandbox(sandbox_factory)
    reports = [DAY_AD, HOUR_AD_SET]
    config = sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE",
                           ads_lookback_days=0)
    first, state = run_tap(config)

    later = NOW + dt.timedelta(days=1, hours=5)
    monkeypatch.setattr(windows, "utc_now", lambda: later)
    sb.ads_api.fixed_now = later
    sb.ads_api.report_log.clear()
    second, state2 = run_tap(config, state=state)

    new_yesterday = dt.date(2026, 3, 2)  # later is 2026-03-03 12:45 UTC
    assert set(report_windows(sb, "DAY")) == {("2026-03-01T00:00:00Z",
                                               "2026-03-02T00:00:00Z")}
    last_hour = dt.datetime(2026, 3, 3, 11, tzinfo=dt.UTC)  # the last complete hour
    assert set(report_windows(sb, "HOUR")) == {("2026-03-02T06:00:00Z",
                                                "2026-03-03T11:00:00Z")}
    for report in reports:
        floor = "2026-03-01T00:00:00Z" if report is DAY_AD else "2026-03-02T06:00:00Z"
        assert all(canonical(r["start_time"]) >= canonical(floor)
                   for r in second[report["table"]])
        merged = {key_of(report, r): r for r in first[report["table"]] + second[report["table"]]}
        if report is DAY_AD:
            truth = sb.ads_truth([DAY_AD], start=THREE_MONTHS_BACK,
                                 end=new_yesterday, now=later)
        else:
            lo, _ = sb.ads_api.default_hour_range(NOW)
            truth = sb.ads_truth([HOUR_AD_SET], start=lo, end=last_hour, now=later)
        assert_exact(report, list(merged.values()), truth)
    marks = {p["replication_key_value"] for p in state2["bookmarks"]["ad_set_hour"]["partitions"]}
    assert marks == {"2026-03-03T11:00:00Z"}


def test_a_malformed_specific_account_id_names_the_setting(sandbox_factory):
    """Ad account ids are UUIDs: a real server answers a malformed one with 400 rather
    than 404. Either way the one-line message names `ads_accounts` and the id."""
    sb = ads_sandbox(sandbox_factory)
    api = sb.ads_api
    original = api.handle

    def uuid_ids(req):
        parts = req.path.strip("/").split("/")
        if parts[0] == "ad_accounts" and len(parts) > 1 and parts[1].count("-") != 4:
            body = {"sp_trace_id": "t", "messages": ["Invalid UUID string: " + parts[1]],
                    "error_codes": [{"code": "INVALID_ARGUMENT", "definition": "bad id"}]}
            return SandboxResponse(400, json.dumps(body).encode())
        return original(req)

    api.handle = uuid_ids
    config = sb.tap_config(ads_report_list=[LIFETIME_AD], ads_sync_mode="SPECIFIC_ACCOUNTS",
                           ads_accounts=[api.world.account_ids[0], "acct-123"])
    with pytest.raises(AccessError) as err:
        run_tap(config)
    message = str(err.value)
    assert "`ads_accounts`" in message
    assert "'acct-123'" in message
    assert "\n" not in message
    assert api.stats.get("requests_aggregate_reports", 0) == 0


def test_insight_answers_in_other_conforming_shapes(sandbox_factory):
    """422 bodies with several error codes, 200 bodies with extra keys (OpenAPI's
    `summary_totals`) and stats carrying fields nobody asked for."""
    sb = ads_sandbox(sandbox_factory)
    api = sb.ads_api
    original = api.handle

    def other_server(req):
        response = original(req)
        if "insight_reports" not in req.path:
            return response
        body = json.loads(response.body)
        if response.status == 422:
            body["error_codes"].insert(0, {"code": "WARNING.LOW_DATA", "definition": "x"})
        elif response.status == 200:
            body["summary_totals"] = [{"stat": "IMPRESSIONS", "value": 1}]
            for row in body["rows"]:
                row["stats"].append({"field_type": "CLICKS", "field_value": 3})
        return SandboxResponse(response.status, json.dumps(body).encode(),
                               dict(response.headers))

    api.handle = other_server
    records, _ = run_tap(sb.tap_config(ads_report_list=[INSIGHT_GENDER]))
    assert api.stats["sent_422"] > 0
    rows = records["gender_insights"]
    assert_exact(INSIGHT_GENDER, rows, truth_of(sb, [INSIGHT_GENDER]))
    assert all("clicks" not in r for r in rows)


def test_a_429_with_only_x_ratelimit_reset_waits_that_long(sandbox_factory):
    """On a 429 the budget is spent by definition: `X-RateLimit-Reset` alone (no
    `Retry-After`, no `X-RateLimit-Remaining`) is the wait, not a short random backoff."""

    def reset_only(headers):
        headers.pop("Retry-After", None)
        headers.pop("X-RateLimit-Remaining", None)

    sent, admitted = sync_through_429s(sandbox_factory, 2.0, reset_only)
    assert 0 < sent <= admitted // 3 + 1, (sent, admitted)


def test_an_ad_set_listed_twice_or_an_insight_row_repeated_lands_once(sandbox_factory):
    """An ad set inserted while the listing is paged pushes the last one of a page onto the
    next page too, and an insight answer may repeat a row: each row still lands exactly
    once, with the truth's values (no key twice in the run, nothing extra, nothing lost)."""
    sb = ads_sandbox(sandbox_factory, campaigns_per_account=5, insufficient_rate=0.0)
    carried: list[dict] = []  # the item an insertion pushed onto the next page
    repeated: list[str] = []

    def moving(path, query, body):
        if isinstance(body.get("ad_sets"), list):
            original = body["ad_sets"][:4]
            body.pop("paging", None)
            if query.get("offset", ["0"])[0] == "0":
                items = original  # then one is inserted: every later item moves one down
                if len(original) == 4:
                    repeated.append(original[3]["id"])
            else:
                items = [*carried, *original[:3]]
            carried[:] = original[3:4]
            body["ad_sets"] = items
        elif "insight" in body and body.get("rows"):
            body["rows"].append(dict(body["rows"][0]))
        return body

    reshape(sb, moving)
    records, _ = run_tap(sb.tap_config(ads_report_list=[INSIGHT_GENDER]))
    rows = records["gender_insights"]
    assert repeated
    assert {r["entity_id"] for r in rows} >= set(repeated)
    assert_exact(INSIGHT_GENDER, rows, truth_of(sb, [INSIGHT_GENDER]))
