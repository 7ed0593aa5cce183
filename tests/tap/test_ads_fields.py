"""The open field list of Ads reports: one declaration that the settings metadata, the docs
and the sandbox follow; an unknown name passed to the API and typed as a number; the API's
refusal as one line; deprecated fields warned once."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from helpers.ads import landed
from helpers.run import catalog, run_tap
from spotify_sandbox import ads_fields as sandbox_fields

from tap_spotify_bulk.ads import fields, times
from tap_spotify_bulk.errors import ConfigError
from tap_spotify_bulk.tap import TapSpotifyBulk

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
WORLD = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 2,
         "ad_sets_per_campaign": 2, "ads_per_ad_set": 1}
CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "api-contract.md"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def listed(label: str) -> set[str]:
    """The names docs/api-contract.md lists after `label:`."""
    text = " ".join(CONTRACT.read_text(encoding="utf-8").split())
    found = re.search(rf"{label}: ([A-Z0-9_, ]+)\.", text)
    assert found, label
    return {name.strip() for name in found.group(1).split(",")}


def test_the_sandbox_the_docs_and_the_settings_metadata_follow_the_one_declaration():
    assert sandbox_fields.API_FIELDS == fields.API_FIELDS
    assert fields.INSIGHT_REFUSED_FIELDS - {fields.E_CPM} == sandbox_fields.INSIGHT_REFUSED
    assert listed("known fields") == fields.KNOWN_FIELDS
    assert listed("deprecated fields") == fields.DEPRECATED_FIELDS
    item = TapSpotifyBulk.config_jsonschema["properties"]["ads_report_list"]["items"]
    description = item["properties"]["fields"]["description"]
    assert all(name in description for name in fields.KNOWN_FIELDS | fields.DEPRECATED_FIELDS)


def test_a_field_the_tap_does_not_know_is_asked_and_typed_as_a_number(sandbox_factory):
    report = {"table": "ad_set_day", "dimension": "AD_SET", "granularity": "DAY",
              "fields": ["IMPRESSIONS", "podcast_follows"]}
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "new_fields": ["PODCAST_FOLLOWS"]})
    start, end = dt.date(2026, 6, 1), dt.date(2026, 6, 14)
    output = run_tap(sb.tap_config(ads_report_list=[report], ads_start_date=str(start)),
                     streams=["ad_set_day"])
    rows = output.records["ad_set_day"]
    assert output.schemas["ad_set_day"]["schema"]["properties"]["podcast_follows"]["type"] == [
        "number", "null"]
    assert any(isinstance(r["podcast_follows"], int | float) for r in rows)
    truth = sb.ads_truth([report], start=start, end=end)
    assert landed(report, rows) == truth["ad_set_day"]


def test_a_field_the_api_refuses_is_one_clear_line(sandbox_factory):
    report = {"table": "ad_set_lifetime", "dimension": "AD_SET", "granularity": "LIFETIME",
              "fields": ["IMPRESSIONS", "IMPRESION"]}
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    output = run_tap(sb.tap_config(ads_report_list=[report]), streams=["ad_set_lifetime"],
                     expect_error=True)
    assert isinstance(output.error, ConfigError)
    message = str(output.error)
    assert "\n" not in message
    assert "'ad_set_lifetime'" in message and "400" in message
    assert "IMPRESION (did you mean `IMPRESSIONS`?)" in message
    assert "IMPRESION" in output.logs and "did you mean `IMPRESSIONS`?" in output.logs
    assert output.records.get("ad_set_lifetime", []) == []


def test_a_name_that_cannot_be_a_field_is_refused_before_any_request(sandbox_factory):
    report = {"table": "ad_set_lifetime", "dimension": "AD_SET", "granularity": "LIFETIME",
              "fields": ["IMPRESSIONS", "spend; drop"]}
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    output = run_tap(sb.tap_config(ads_report_list=[report]), expect_error=True)
    assert isinstance(output.error, ConfigError)
    assert "'spend; drop' is not a report field name" in str(output.error)
    assert sb.ads_api.stats["requests"] == 0


def test_deprecated_fields_warn_once_each(sandbox_factory):
    reports = [{"table": "campaign_lifetime", "dimension": "CAMPAIGN", "granularity": "LIFETIME",
                "fields": ["IMPRESSIONS", "SKIPS", "PAID_LISTENS"]},
               {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
                "fields": ["SKIPS", "CLICKS"]}]
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    config = sb.tap_config(ads_report_list=reports)
    chosen = catalog(config, [r["table"] for r in reports])
    output = run_tap(config, catalog_dict=chosen)
    warnings = [line for line in output.logs.splitlines() if "deprecated" in line]
    assert len(warnings) == 2, warnings
    assert any("SKIPS (in campaign_lifetime, ad_lifetime)" in w for w in warnings)
    assert any("PAID_LISTENS (in campaign_lifetime)" in w for w in warnings)
    truth = sb.ads_truth(reports)
    for report in reports:
        assert landed(report, output.records[report["table"]]) == truth[report["table"]]
