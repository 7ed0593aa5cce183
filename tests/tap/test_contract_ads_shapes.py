"""Ads contract (api-contract §5.3, §6): answers in other shapes a conforming server may
send. The sandbox's answers are reshaped in flight (`helpers.ads_contract.reshape`): other
row order, ISO spellings, extra or missing optional keys, other paging, pages that repeat
a row or an item. The tap must land exactly the sandbox's ground truth, with unique
primary keys.
"""

from __future__ import annotations

import json

import pytest
from helpers.ads import sync_ads as run_tap
from helpers.ads_contract import (
    DAY_AD,
    INSIGHT_GENDER,
    LIFETIME_AD,
    ads_sandbox,
    assert_all_exact,
    assert_exact,
    frozen_clock,  # noqa: F401 (autouse: the tap's Ads clock)
    map_rows,
    reshape,
    run_all,
    truth_of,
)
from spotify_sandbox.routing import SandboxResponse
from spotify_sandbox.tally import canonical


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
    def landed_as(report, record):  # the parts left out are null, the new key in `extra`
        if report is not INSIGHT_GENDER:
            record.update(entity_status=None, parent_entity_id=None)
        record["extra"] = {**(record["extra"] or {}), "unexpected": {"nested": [1, 2]}}
        return record

    records, state = run_all(sb)
    assert_all_exact(sb, records, landed_as)
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
    # A stat nobody asked for gets no column; it is kept in `extra`, as the API sent it.
    assert_exact(INSIGHT_GENDER, rows, truth_of(sb, [INSIGHT_GENDER], lambda _, r: {
        **r, "extra": {**(r["extra"] or {}), "clicks": 3}}))
    assert all("clicks" not in r for r in rows)


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


def test_values_of_an_unexpected_type_and_unknown_keys_land_in_extra(sandbox_factory):
    """A name that is not text, a field value that is not a number and a key §6 does not
    name: the column is null and the raw value is kept in `extra` (nothing is dropped)."""
    sb = ads_sandbox(sandbox_factory, page_unit="row")

    def other_server(path, query, body):
        def row(r):
            name = "entity_name" if "entity_name" in r else "name"
            r[name] = 12345
            for stat in r.get("stats", []):
                if stat["field_type"] in {"CLICKS", "REACH"}:
                    stat["field_value"] = str(stat["field_value"])
            r["review"] = ["LATE_DATA"]
            return r
        return map_rows(body, row)

    def landed_as(report, record):
        extra = {**(record["extra"] or {}), "review": ["LATE_DATA"]}
        if report is DAY_AD:  # an insight record takes the name from the ad set list
            extra["entity_name"], record["entity_name"] = 12345, None
        else:
            extra["name"] = 12345
        for column in ("clicks", "reach"):
            if record.get(column) is not None:
                extra[column], record[column] = str(record[column]), None
        return {**record, "extra": extra}

    reshape(sb, other_server)
    records, _ = run_tap(sb.tap_config(ads_report_list=[DAY_AD, INSIGHT_GENDER],
                                       ads_timeframe_months="THREE"))
    truth = truth_of(sb, [DAY_AD, INSIGHT_GENDER], landed_as)
    for report in (DAY_AD, INSIGHT_GENDER):
        assert records[report["table"]], report["table"]
        assert_exact(report, records[report["table"]], truth)
    assert any(r["extra"].get("clicks") for r in records["ad_day"])
