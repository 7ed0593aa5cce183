"""Ads entity streams against the sandbox: exact truth, paging, request counts, increments."""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout

import pytest
from spotify_sandbox.ads_fields import ENTITY_FIELDS
from spotify_sandbox.tally import ADS_ENTITY_FIELDS, Tally

from tap_spotify_bulk.ads import entity_fields, sorted_window, times
from tap_spotify_bulk.errors import TapError
from tap_spotify_bulk.tap import TapSpotifyBulk

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
ENTITIES = ("businesses", "ad_accounts", "campaigns", "ad_sets", "ads")
KINDS = {"s": "string", "t": "string", "i": "integer", "b": "boolean", "o": "object",
         "a": "array"}  # JSON schema type of each kind of column
ONE_SMALL_ACCOUNT = {"now": NOW, "n_businesses": 1, "shared_account": False,
                     "campaigns_per_account": 6, "ad_sets_per_campaign": 1, "ads_per_ad_set": 1}


def selected_catalog(config: dict, streams) -> dict:
    catalog = TapSpotifyBulk(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def sync(config: dict, streams=ENTITIES, state: dict | None = None):
    """({stream: [records]}, last STATE) of a sync of `streams` only."""
    catalog = selected_catalog(config, streams)
    tap = TapSpotifyBulk(config=config, catalog=catalog, state=state, parse_env_config=False)
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    records: dict[str, list] = collections.defaultdict(list)
    last_state = None
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            last_state = message["value"]
    return records, last_state


def landed(stream: str, records: list[dict]) -> dict:
    """Tally of what landed, upserted on `id` as a target would."""
    latest = {r["id"]: r for r in records}
    return Tally.for_ads_entity_stream(stream).add_all(latest.values()).summary()


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


def reword_lists(api, change) -> None:
    """Every item of the Ads API's list answers passes through `change(list name, item)`,
    as another version of the API may word it."""
    original = api.handle

    def handle(req):
        response = original(req)
        if response.status == 200:
            body = json.loads(response.body)
            for name, items in body.items():
                if isinstance(items, list):
                    body[name] = [change(name, item) for item in items]
            response.body = json.dumps(body).encode()
        return response

    api.handle = handle


def assert_unique_ids(records: dict[str, list]) -> None:
    for stream, rows in records.items():
        counts = collections.Counter(r["id"] for r in rows)
        assert [i for i, n in counts.items() if n > 1] == [], stream


def test_entity_streams_match_the_truth_across_overlapping_pages(sandbox_factory):
    # 72 ads per account: two pages; the second repeats the last ad of the first.
    sb = sandbox_factory(ads={"now": NOW, "campaigns_per_account": 12,
                              "ad_sets_per_campaign": 3, "ads_per_ad_set": 2,
                              "list_overlap": 1})
    records, state = sync(sb.tap_config())
    truth = sb.ads_api.entity_truth(ENTITIES)
    for stream in ENTITIES:
        assert records[stream], stream
        assert landed(stream, records[stream]) == truth[stream], stream
    assert_unique_ids(records)
    accounts = sb.ads_api.world.account_ids
    assert len(records["ads"]) == 72 * len(accounts)
    assert {r["ad_account_id"] for r in records["ads"]} == set(accounts)
    assert sb.ads_api.stats["requests_ads"] == 2 * len(accounts)  # one request per page
    assert sb.ads_api.stats["requests_ad_sets"] == len(accounts)
    assert sb.ads_api.stats.get("requests_ad_account", 0) == 0  # none per entity
    # Every field of every record exactly as the truth has it: typed columns (nested objects
    # whole, times as `YYYY-MM-DDTHH:MM:SSZ` however the API spelled them), unknown keys and
    # values of an unexpected type raw in `extra`, their columns null.
    for stream in ENTITIES:
        assert by_id(records[stream]) == by_id(sb.ads_api.lists.records(stream)), stream
        assert any(set(r["extra"] or ()) & set(ENTITY_FIELDS[stream])
                   for r in records[stream]), stream  # the world holds unexpected values
    currency = {a: sb.ads_api.world.account(a)["currency_code"] for a in accounts}
    assert len(set(currency.values())) == len(accounts)  # accounts in different currencies
    assert all(r["ad_account_id"] == r["id"] for r in records["ad_accounts"])
    # The shared ad account (listed under both businesses) is one record.
    assert len(records["ad_accounts"]) == len(accounts)
    # Bookmarks per ad account: the newest updated_at of that account's list.
    for stream in ("campaigns", "ad_sets", "ads"):
        marks = {p["context"]["ad_account_id"]: p["replication_key_value"]
                 for p in state["bookmarks"][stream]["partitions"]}
        newest = {a: max(r["updated_at"] for r in records[stream] if r["ad_account_id"] == a)
                  for a in accounts}
        assert marks == newest, stream


def test_request_count_for_50_campaigns_5_ad_sets_10_ads_and_the_next_run(sandbox_factory):
    # One ad account: 50 campaigns, 250 ad sets, 2,500 ads.
    sb = sandbox_factory(ads={"now": NOW, "n_businesses": 1, "shared_account": False,
                              "campaigns_per_account": 50, "ad_sets_per_campaign": 5,
                              "ads_per_ad_set": 10})
    api = sb.ads_api
    config = sb.tap_config()
    records, state = sync(config)
    # businesses 1 + business ad accounts 1 + campaigns 1 + ad sets 5 + ads 50 = 58.
    assert api.stats["requests"] == 58
    assert (api.stats["requests_campaigns"], api.stats["requests_ad_sets"],
            api.stats["requests_ads"]) == (1, 5, 50)
    assert [len(records[s]) for s in ENTITIES] == [1, 1, 50, 250, 2500]
    truth = api.entity_truth(ENTITIES)
    assert {s: landed(s, records[s]) for s in ENTITIES} == truth

    # Next run, nothing changed: the first (newest) page of each list is enough, and only
    # what sits exactly on the bookmark is emitted again.
    api.stats.clear()
    again, state = sync(config, state=state)
    assert api.stats["requests"] == 5
    assert len(again["ads"]) == 1

    # Edits in Ad Studio: the next run emits exactly the edited entities.
    account = api.world.account_ids[0]
    campaign = api.world.entities(account, "CAMPAIGN")[7]
    edited_ads = [api.world.entities(account, "AD")[i] for i in (3, 1400, 2499)]
    api.lists.touch(campaign.id, dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC))
    for ad in edited_ads:
        api.lists.touch(ad.id, dt.datetime(2026, 6, 15, 8, 0, tzinfo=dt.UTC))
    marks = {s: state["bookmarks"][s]["partitions"][0]["replication_key_value"]
             for s in ("campaigns", "ad_sets", "ads")}
    api.stats.clear()
    third, state = sync(config, state=state)
    assert api.stats["requests"] == 5
    for stream, mark in marks.items():  # the edits, plus what sits on the old bookmark
        expected = api.entity_truth([stream], updated_since=mark)[stream]
        assert landed(stream, third[stream]) == expected, stream
    assert {campaign.id} < {r["id"] for r in third["campaigns"]}
    assert {ad.id for ad in edited_ads} < {r["id"] for r in third["ads"]}
    assert (len(third["campaigns"]), len(third["ad_sets"]), len(third["ads"])) == (2, 1, 4)
    ads_mark = state["bookmarks"]["ads"]["partitions"][0]["replication_key_value"]
    assert ads_mark == "2026-06-15T08:00:00Z"


def test_a_server_that_ignores_sorting_is_read_to_the_end(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "n_businesses": 1, "shared_account": False,
                              "campaigns_per_account": 10, "ad_sets_per_campaign": 3,
                              "ads_per_ad_set": 4, "sort_lists": False})
    api = sb.ads_api
    config = sb.tap_config()
    _, state = sync(config, streams=("ads",))
    assert api.stats["requests_ads"] == 3  # 120 ads
    account = api.world.account_ids[0]
    edited = api.world.entities(account, "AD")[5]
    api.lists.touch(edited.id, dt.datetime(2026, 6, 15, 8, 0, tzinfo=dt.UTC))
    mark = state["bookmarks"]["ads"]["partitions"][0]["replication_key_value"]
    api.stats.clear()
    again, _ = sync(config, streams=("ads",), state=state)
    assert api.stats["requests_ads"] == 3  # no early stop on an unsorted list
    assert edited.id in {r["id"] for r in again["ads"]}
    assert landed("ads", again["ads"]) == api.entity_truth(["ads"], updated_since=mark)["ads"]


def test_specific_accounts_limit_every_entity_stream(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "n_businesses": 3})
    world = sb.ads_api.world
    chosen = world.account_ids[2]
    records, _ = sync(sb.tap_config(ads_sync_mode="SPECIFIC_ACCOUNTS", ads_accounts=[chosen]))
    truth = sb.ads_api.entity_truth(ENTITIES, accounts=[chosen])
    assert {s: landed(s, records[s]) for s in ENTITIES} == truth
    assert [b["id"] for b in records["businesses"]] == [world.account(chosen)["business_id"]]
    assert {r["ad_account_id"] for s in ENTITIES[1:] for r in records[s]} == {chosen}
    assert sb.ads_api.stats["requests_ad_account"] == 1
    assert sb.ads_api.stats.get("requests_business_ad_accounts", 0) == 0


def test_entity_streams_are_not_selected_by_default(sandbox):
    tap = TapSpotifyBulk(config=sandbox.tap_config(), parse_env_config=False)
    streams = {name: s.selected for name, s in tap.streams.items() if name in ENTITIES}
    assert streams == dict.fromkeys(ENTITIES, False)
    keys = {name: tap.streams[name].primary_keys for name in ENTITIES}
    assert all(k == ["id"] for k in keys.values())
    # Meltano reads the catalog's `selected-by-default`.
    roots = {entry["tap_stream_id"]: next(m["metadata"] for m in entry["metadata"]
                                          if m["breadcrumb"] == [])
             for entry in tap.catalog_dict["streams"]}
    assert {name: roots[name].get("selected-by-default") for name in ENTITIES} == dict.fromkeys(
        ENTITIES, False)


def test_a_selected_entity_stream_needs_the_ads_refresh_token(sandbox, tmp_path):
    catalog = selected_catalog(sandbox.tap_config(), ("campaigns",))
    config = {k: v for k, v in sandbox.tap_config().items() if k != "ads_refresh_token"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    done = subprocess.run(
        [sys.executable, "-m", "tap_spotify_bulk", "--config", str(tmp_path / "config.json"),
         "--catalog", str(tmp_path / "catalog.json")],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "tap-spotify-bulk: error: `ads_refresh_token` is required when Ads API reports are "
        "selected (the Ads entity streams need it too)."]
    assert sandbox.ads_api.stats.get("requests", 0) == 0


def test_entity_and_report_streams_share_one_client_paced_per_endpoint_class(sandbox_factory):
    """Every Ads request of a run passes the pacer of its endpoint class, shared by every
    Ads stream (150 reporting requests / 30 s, 1,500 others)."""
    sb = sandbox_factory(ads={"now": NOW})
    report = {"table": "ad_set_lifetime", "dimension": "AD_SET", "granularity": "LIFETIME",
              "fields": ["IMPRESSIONS"]}
    config = sb.tap_config(ads_report_list=[report])
    catalog = selected_catalog(config, (*ENTITIES, "ad_set_lifetime"))
    tap = TapSpotifyBulk(config=config, catalog=catalog, parse_env_config=False)
    with redirect_stdout(io.StringIO()):
        tap.sync_all()
    shared = {id(tap.streams[name].runtime) for name in (*ENTITIES, "ad_set_lifetime")}
    assert len(shared) == 1
    client = tap.streams["ads"].runtime.client
    stats = sb.ads_api.stats
    assert stats["requests_ads"] > 0
    assert stats["requests_aggregate_reports"] > 0
    # All within one 30 s window: reports through the reporting pacer, the rest the other.
    assert len(client.pacer._sent) == stats["requests_aggregate_reports"]
    assert len(client.other_pacer._sent) == stats["requests"] - stats[
        "requests_aggregate_reports"]


def test_entity_streams_are_offered_only_with_an_ads_refresh_token(sandbox):
    """Meltano selects every discovered stream: a Bulk-only configuration must not discover
    streams that would ask for Ads credentials."""
    config = {k: v for k, v in sandbox.tap_config().items() if k != "ads_refresh_token"}
    bulk_only = TapSpotifyBulk(config=config, parse_env_config=False).catalog_dict
    with_token = TapSpotifyBulk(config=sandbox.tap_config(), parse_env_config=False).catalog_dict
    entities = {"businesses", "ad_accounts", "campaigns", "ad_sets", "ads"}
    assert not entities & {entry["tap_stream_id"] for entry in bulk_only["streams"]}
    assert entities <= {entry["tap_stream_id"] for entry in with_token["streams"]}


def test_entity_streams_are_sorted_as_the_sdk_expects(sandbox_factory, caplog):
    """Each account's campaigns, ad sets and ads come oldest first (by `updated_at`, then
    `id`), so the SDK takes the streams as sorted: no "assumed to be unsorted" warning, no
    progress markers in the state, and a bookmark that only grows within an account."""
    sb = sandbox_factory(ads={"now": NOW, "campaigns_per_account": 12,
                              "ad_sets_per_campaign": 3, "ads_per_ad_set": 2,
                              "list_overlap": 1})
    with caplog.at_level("WARNING"):
        records, state = sync(sb.tap_config())
    assert "unsorted" not in caplog.text
    assert "progress_markers" not in json.dumps(state)
    for stream in ("campaigns", "ad_sets", "ads"):
        assert records[stream], stream
        for account in sb.ads_api.world.account_ids:
            keys = [(r["updated_at"], r["id"]) for r in records[stream]
                    if r["ad_account_id"] == account]
            assert keys == sorted(keys), (stream, account)


def test_the_tap_and_the_sandbox_declare_the_same_fields_of_each_list_object():
    """The sandbox keeps its own copy of the v3 list objects' fields and kinds; a field the
    tap lacks, or types otherwise, shows up here before it shows up as a wrong record."""
    assert entity_fields.FIELDS == ENTITY_FIELDS
    for stream, fields in ENTITY_FIELDS.items():
        columns = entity_fields.schema(stream)["properties"]
        assert list(columns) == list(ADS_ENTITY_FIELDS[stream]), stream
        assert [columns[name]["type"][0] for name in fields] == [
            KINDS[kind] for kind in fields.values()], stream


def test_a_bookmark_worded_with_an_offset_does_not_fail_the_run(sandbox_factory):
    """A state set by hand (`meltano state set`) may word the bookmark with an offset: the
    item on it then sorts below the bookmark as text, which must not stop the run; exactly
    the items updated since the bookmark come again, the bookmark in the tap's wording."""
    sb = sandbox_factory(ads=ONE_SMALL_ACCOUNT)
    api = sb.ads_api
    config = sb.tap_config()
    _, state = sync(config, streams=("campaigns",))
    partition = state["bookmarks"]["campaigns"]["partitions"][0]
    mark = partition["replication_key_value"]
    offset = dt.timezone(dt.timedelta(hours=2))
    partition["replication_key_value"] = times.parse_time(mark).astimezone(offset).isoformat()
    again, state = sync(config, streams=("campaigns",), state=state)
    expected = api.entity_truth(["campaigns"], updated_since=mark)["campaigns"]
    assert again["campaigns"]
    assert landed("campaigns", again["campaigns"]) == expected
    assert state["bookmarks"]["campaigns"]["partitions"][0]["replication_key_value"] == mark


def test_a_field_of_an_unexpected_type_is_null_with_its_value_in_extra_and_one_warning(
        sandbox_factory, caplog):
    sb = sandbox_factory(ads=ONE_SMALL_ACCOUNT)
    reword_lists(sb.ads_api, lambda name, item: {**item, "name": 7} if name == "campaigns"
                 else item)
    with caplog.at_level("WARNING"):
        records, _ = sync(sb.tap_config(), streams=("campaigns",))
    assert len(records["campaigns"]) == 6
    assert all(r["name"] is None and r["extra"]["name"] == 7 for r in records["campaigns"])
    # One warning for the field, not one per record (the sandbox words other fields of
    # some items otherwise too: each of those has its own line).
    assert [r.getMessage() for r in caplog.records if "field 'name'" in r.getMessage()
            ] == ["Ads campaigns: field 'name' has an unexpected value type (int); emitted as "
                  "null, raw value kept in `extra`."]


def test_a_list_that_cannot_be_held_on_disk_is_one_error_naming_it(
        sandbox_factory, tmp_path, monkeypatch):
    """Past memory an account's list is held in `temp_dir`; when that fails (here the
    directory vanishes between two accounts' lists) the error names the list and the
    setting."""
    sb = sandbox_factory(ads={**ONE_SMALL_ACCOUNT, "n_businesses": 2})
    monkeypatch.setattr(sorted_window, "SPILL_BYTES", 1)  # every list goes to disk
    temp = tmp_path / "temp"
    temp.mkdir()
    api = sb.ads_api
    _, second = api.world.account_ids
    original = api.handle

    def vanish_before_the_second_list(req):
        if req.path.endswith(f"{second}/campaigns") and temp.exists():
            temp.rmdir()
        return original(req)

    api.handle = vanish_before_the_second_list
    with pytest.raises(TapError) as caught:
        sync(sb.tap_config(temp_dir=str(temp)), streams=("campaigns",))
    assert api.stats["requests_campaigns"] == 2  # the first account's list was held there
    assert str(caught.value) == (
        f"Ads campaigns list of ad account {second}: cannot write a temporary file in {temp} "
        "(No such file or directory): check `temp_dir` (or TMPDIR).")


def test_the_ad_accounts_record_carries_the_id_the_other_streams_name(sandbox_factory):
    """With SPECIFIC_ACCOUNTS the account object comes from `GET /ad_accounts/{id}`: an
    answer that words the id otherwise (here in capitals) must not split the account in two
    (every other record names it by the id the tap asked for)."""
    sb = sandbox_factory(ads=ONE_SMALL_ACCOUNT)
    api = sb.ads_api
    account = api.world.account_ids[0]
    original = api.handle

    def capitalised(req):
        response = original(req)
        if req.path == f"/ad_accounts/{account}":
            body = json.loads(response.body)
            body["id"] = body["id"].upper()
            response.body = json.dumps(body).encode()
        return response

    api.handle = capitalised
    config = sb.tap_config(ads_sync_mode="SPECIFIC_ACCOUNTS", ads_accounts=[account])
    records, _ = sync(config, streams=("ad_accounts", "campaigns"))
    assert api.stats["requests_ad_account"] == 1
    assert [r["id"] for r in records["ad_accounts"]] == [account]
    assert {r["ad_account_id"] for r in records["campaigns"]} == {account}
