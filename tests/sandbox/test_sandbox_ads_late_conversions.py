"""Late attribution on command: `POST /_sandbox/ads/late_conversions?date=D` credits more
conversions and revenue to a past day D of every ad with a pixel (and to the ad sets,
campaigns and accounts above it); nothing else the Ads API serves moves. Spoken to over
real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
DAY = dt.date(2026, 5, 26)
COUNTS = ("PURCHASES", "LEADS", "ADD_TO_CART")
PRIVATE = -5  # a conversion count of 1 to 4
FIELDS = ["IMPRESSIONS", "SPEND", "CLICKS", "REVENUE", *COUNTS]


@pytest.fixture
def sb(sandbox_factory):
    return sandbox_factory(ads={"now": NOW, "page_unit": "row", "flight_days": 60})


def credit(sb, day: str) -> requests.Response:
    return requests.post(f"{sb.base_url}/_sandbox/ads/late_conversions", params={"date": day},
                         timeout=10)


def served(sb, entity_type: str, granularity: str = "DAY") -> dict[tuple, dict]:
    """{(entity id, start_time): {field: value}} of one report over DAY-1..DAY+1 (LIFETIME:
    start_time of the flight), every account, every page."""
    token = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                          data={"grant_type": "refresh_token",
                                "refresh_token": sb.refresh_token}, timeout=10).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    out = {}
    for account in sb.ads_api.world.account_ids:
        params: dict = {"entity_type": entity_type, "fields": FIELDS,
                        "granularity": granularity}
        if granularity == "DAY":
            params.update(report_start=f"{DAY - dt.timedelta(days=1)}T00:00:00Z",
                          report_end=f"{DAY + dt.timedelta(days=1)}T00:00:00Z")
        while True:
            body = requests.get(f"{sb.ads_api_url}/ad_accounts/{account}/aggregate_reports",
                                params=params, headers=headers, timeout=10).json()
            for row in body["rows"]:
                out[row["entity_id"], row["start_time"]] = {
                    s["field_type"]: s["field_value"] for s in row["stats"]}
            if not body["continuation_token"]:
                break
            params = {"continuation_token": body["continuation_token"]}
    return out


def more(field: str, old: float | None, new: float | None) -> bool:
    """A credited value: revenue grows; so does a count, where -5 (the privacy value) stands
    for 1 to 4: 0 may become -5, and -5 may stay -5."""
    if old is None or new is None:
        return old is new
    if field == "REVENUE":
        return new > old
    if new == PRIVATE:
        return old in (0, PRIVATE)
    return new > max(old, 4)


def test_a_credit_adds_conversions_and_revenue_to_that_day_of_ads_with_a_pixel(sb):
    world = sb.ads_api.world
    ads = {ad.id: ad for account in world.account_ids for ad in world.entities(account, "AD")}
    with_pixel = {ad_id for ad_id, ad in ads.items() if world.has_pixel(ad)}
    assert 0 < len(with_pixel) < len(ads)  # some ads have a pixel, some not
    before = served(sb, "AD")
    truth_before = sb.ads_truth([{"table": "ad_day", "dimension": "AD", "granularity": "DAY",
                                  "fields": FIELDS}], start=DAY, end=DAY)

    answer = credit(sb, DAY.isoformat())
    assert answer.status_code == 200
    after = served(sb, "AD")
    assert set(after) == set(before)  # the same rows, under the same keys
    changed = set()
    for (ad_id, start), values in after.items():
        old = before[ad_id, start]
        untouched = ("IMPRESSIONS", "SPEND", "CLICKS")
        assert {f: values.get(f) for f in untouched} == {f: old.get(f) for f in untouched}
        credited = start == f"{DAY}T00:00:00Z" and ad_id in with_pixel and old["IMPRESSIONS"]
        if not credited:
            assert values == old, (ad_id, start)
            continue
        assert all(more(f, old.get(f), values.get(f)) for f in ("REVENUE", *COUNTS))
        if values != old:
            changed.add(ad_id)
    assert answer.json() == {"date": DAY.isoformat(), "credits": 1,
                             "ads_credited": len(changed)}
    assert changed  # revenue moved for some of them at least
    truth_after = sb.ads_truth([{"table": "ad_day", "dimension": "AD", "granularity": "DAY",
                                 "fields": FIELDS}], start=DAY, end=DAY)
    assert truth_after != truth_before  # the truth follows the served rows

    assert credit(sb, DAY.isoformat()).json()["credits"] == 2  # credits add up
    again = served(sb, "AD")
    assert all(more("REVENUE", after[k].get("REVENUE"), again[k].get("REVENUE"))
               for k in after if k[0] in changed and k[1].startswith(DAY.isoformat()))


def test_parents_and_lifetime_totals_follow_and_other_days_do_not_move(sb):
    campaigns_before = served(sb, "CAMPAIGN")
    lifetime_before = served(sb, "AD", "LIFETIME")
    assert credit(sb, DAY.isoformat()).status_code == 200
    world = sb.ads_api.world
    for (campaign_id, start), values in served(sb, "CAMPAIGN").items():
        old = campaigns_before[campaign_id, start]
        campaign = next(c for a in world.account_ids for c in world.entities(a, "CAMPAIGN")
                        if c.id == campaign_id)
        if start == f"{DAY}T00:00:00Z" and world.has_pixel(campaign) and old["IMPRESSIONS"]:
            assert more("REVENUE", old.get("REVENUE"), values.get("REVENUE"))
        else:
            assert values == old
    lifetime = served(sb, "AD", "LIFETIME")
    for (ad_id, start), values in lifetime.items():
        old = lifetime_before[ad_id, start]
        ad = next(a for acc in world.account_ids for a in world.entities(acc, "AD")
                  if a.id == ad_id)
        if world.has_pixel(ad) and old["IMPRESSIONS"]:
            assert more("REVENUE", old.get("REVENUE"), values.get("REVENUE"))
        else:
            assert values == old


@pytest.mark.parametrize("day", ["2026-06-15", "2026-07-01", "yesterday", ""])
def test_a_day_that_is_not_in_the_past_is_refused(sb, day):
    answer = credit(sb, day)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"]
    assert not sb.ads_api.world.late_credits
