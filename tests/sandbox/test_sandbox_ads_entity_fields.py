"""The sandbox's Ads list objects carry every declared field, unknown keys and values of an
unexpected type, and its entity truth is the record a correct client makes of each: so the
truth cannot quietly shrink to a few easy fields."""

from __future__ import annotations

import datetime as dt
import re

import requests
from spotify_sandbox.ads_api import AdsApi
from spotify_sandbox.ads_entities import ENTITY_STREAMS, LIST_KINDS
from spotify_sandbox.ads_fields import ENTITY_FIELDS
from spotify_sandbox.tally import ADS_ENTITY_FIELDS

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
WORLD = {"n_businesses": 2, "campaigns_per_account": 4, "ad_sets_per_campaign": 3,
         "ads_per_ad_set": 2}
API_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def is_time(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(
            dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo)
    except ValueError:
        return False


def fits(kind: str, value: object) -> bool:
    """Whether `value` is of the JSON kind a v3 schema declares (s t i b o a)."""
    if kind == "t":
        return is_time(value)
    if kind == "i":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {"s": str, "b": bool, "o": dict, "a": list}[kind])


def holds(kind: str, value: object) -> bool:
    """Whether `value` is a value of that kind, not an empty object or array."""
    return fits(kind, value) and value not in ({}, [])


def served(sb) -> dict[str, list[dict]]:
    """Every object of every list, as the sandbox's HTTP endpoints send them."""
    token = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                          data={"grant_type": "refresh_token",
                                "refresh_token": sb.refresh_token}, timeout=10).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    base = sb.ads_api_url
    out: dict[str, list[dict]] = {"businesses": session.get(
        f"{base}/businesses", timeout=10).json()["businesses"]}
    out["ad_accounts"] = [session.get(f"{base}/ad_accounts/{a}", timeout=10).json()
                          for a in sb.ads_api.world.account_ids]
    for kind in LIST_KINDS:
        out[kind] = [item for a in sb.ads_api.world.account_ids
                     for item in session.get(f"{base}/ad_accounts/{a}/{kind}", timeout=10)
                     .json()[kind]]
    return out


def test_objects_carry_every_declared_field_unknown_keys_and_unexpected_types(
        sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    objects = served(sb)
    for stream in ENTITY_STREAMS:
        declared = ENTITY_FIELDS[stream]
        items = objects[stream]
        assert items, stream
        # Each declared field holds a value of its kind on at least one object.
        missing = {k for k, kind in declared.items()
                   if not any(holds(kind, item.get(k)) for item in items)}
        assert missing == set(), stream
        # And at least one object holds a declared key with a value of another kind, one a
        # key the schema does not declare, one a null and one leaves a field out.
        assert any(item.get(k) is not None and not fits(kind, item[k])
                   for item in items for k, kind in declared.items()), stream
        assert any(set(item) - set(declared) - {"ad_account_id"} for item in items), stream
        assert any(None in item.values() for item in items), stream
        if stream in LIST_KINDS:
            assert any(set(declared) - set(item) for item in items), stream
    times = [item[k] for stream in ENTITY_STREAMS for item in objects[stream]
             for k, kind in ENTITY_FIELDS[stream].items()
             if kind == "t" and is_time(item.get(k))]
    assert any(not API_TIME.match(text) for text in times)  # offsets, milliseconds


def test_the_truth_is_the_record_a_correct_client_makes_of_each_object(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    objects = served(sb)
    for stream in ENTITY_STREAMS:
        declared = ENTITY_FIELDS[stream]
        records = {r["id"]: r for r in sb.ads_api.lists.records(stream)}
        assert {item["id"] for item in objects[stream]} == set(records), stream
        for item in objects[stream]:
            record = records[item["id"]]
            assert set(record) == set(ADS_ENTITY_FIELDS[stream]), stream
            extra = record["extra"] or {}
            for key, value in item.items():
                kind = declared.get(key)
                if key == "ad_account_id":  # an ad's own account: the record's column
                    assert record[key] == value and key not in extra, stream
                elif kind is None:  # unknown: raw in `extra`
                    assert extra[key] == value, (stream, key)
                elif value is not None and not fits(kind, value):
                    assert (record[key], extra[key]) == (None, value), (stream, key)
                elif kind == "t" and value is not None:  # the same instant, as the API's own
                    assert API_TIME.match(record[key]), (stream, key)
                    assert record[key].replace("Z", "+00:00") == dt.datetime.fromisoformat(
                        value.replace("Z", "+00:00")).astimezone(dt.UTC).isoformat()
                else:
                    assert record[key] == value and key not in extra, (stream, key)
            assert all(record[k] is None for k in declared if k not in item), stream
        # Every column holds a value on some record: the fingerprint covers real data.
        empty = {k for k in ADS_ENTITY_FIELDS[stream]
                 if all(r[k] in (None, {}, []) for r in records.values())}
        assert empty == set(), stream


def test_the_objects_and_the_truth_are_a_function_of_the_seed():
    def world(seed: int) -> AdsApi:
        return AdsApi(seed=seed, now=NOW, **WORLD)

    first, again, other = world(11), world(11), world(12)
    for stream in ENTITY_STREAMS:
        assert first.lists.records(stream) == again.lists.records(stream), stream
    assert first.entity_truth() == again.entity_truth()
    assert first.lists.businesses() == again.lists.businesses()
    account = first.world.account_ids[0]
    for kind in LIST_KINDS:
        assert first.lists.listing(account, kind, "UPDATED_AT", "DESC") == (
            again.lists.listing(account, kind, "UPDATED_AT", "DESC")), kind
    truth, other_truth = first.entity_truth(), other.entity_truth()
    assert all(truth[s] != other_truth[s] for s in ENTITY_STREAMS)


def test_lists_sort_by_the_values_however_an_object_spells_or_mangles_them():
    api = AdsApi(seed=7, now=NOW, **{**WORLD, "campaigns_per_account": 12})
    account = api.world.account_ids[0]
    truth = {r["id"]: r for r in api.lists.records("ad_sets", [account])}
    by_budget = [i["id"] for i in api.lists.listing(account, "ad_sets", "BUDGET", "ASC")]
    budgets = [truth[i]["budget"]["micro_amount"] for i in by_budget if truth[i]["budget"]]
    assert budgets == sorted(budgets)
    assert sorted(by_budget) == sorted(truth)  # a budget sent as a list is sorted too
    assert any(truth[i]["budget"] is None for i in by_budget)
    newest = api.lists.listing(account, "ad_sets", "UPDATED_AT", "DESC")
    stamps = [truth[i["id"]]["updated_at"] for i in newest]
    assert stamps == sorted(stamps, reverse=True)
    assert any(i["updated_at"] != truth[i["id"]]["updated_at"] for i in newest)
