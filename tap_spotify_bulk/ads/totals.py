"""Totals of an ad account (api-contract §5.3, §6 `aggregate_reports/totals`): impressions,
clicks, CTR, and reach and frequency deduplicated across up to 50 campaigns, ad sets or ads,
which per-entity rows cannot give (summing per-entity reach counts a listener once per
entity).

A `kind: totals` report object totals the `entity_ids` it lists that belong to the account
(default: every entity of its `dimension` there; more than 50 is a configuration error that
names the account). LIFETIME gives one record per account, DAY one per account and day.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_spotify_bulk.ads import listing, reports
from tap_spotify_bulk.ads.settings import TOTALS_MAX_ENTITIES
from tap_spotify_bulk.ads.times import iso
from tap_spotify_bulk.errors import ConfigError

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from tap_spotify_bulk.ads.client import AdsClient
    from tap_spotify_bulk.ads.settings import ReportSpec



def schema(spec: ReportSpec) -> dict:
    text = th.StringType
    return th.PropertiesList(
        th.Property("ad_account_id", text, required=True),
        th.Property("currency_code", text),
        th.Property("table", text),
        th.Property("granularity", text),
        th.Property("dimension", text),
        th.Property("entity_count", th.IntegerType),
        th.Property("start_time", th.DateTimeType, required=spec.granularity == "DAY"),
        th.Property("end_time", th.DateTimeType),
        *(th.Property(column, th.NumberType) for column in spec.columns),
        th.Property("extra", th.ObjectType()),
    ).to_dict()


def primary_keys(spec: ReportSpec) -> list[str]:
    return ["ad_account_id", "start_time"] if spec.granularity == "DAY" else ["ad_account_id"]


def entity_ids(client: AdsClient, account: str, spec: ReportSpec) -> list[str]:
    """The account's entities to total: the listed ones it holds, else all of its level."""
    kind = listing.LISTS[spec.dimension]
    held = list(dict.fromkeys(str(item["id"]) for item in listing.listing(client, account, kind)
                              if item.get("id")))
    if spec.entity_ids:
        return [entity for entity in spec.entity_ids if entity in set(held)]
    if len(held) > TOTALS_MAX_ENTITIES:
        msg = (f"`ads_report_list` table {spec.table!r}: ad account {account} has {len(held)} "
               f"{kind}; totals take at most {TOTALS_MAX_ENTITIES}: list `entity_ids`.")
        raise ConfigError(msg)
    return held


def totals_records(client: AdsClient, account: str, spec: ReportSpec, ids: list[str], *,
                   start: dt.date | None = None, end: dt.date | None = None) -> Iterator[dict]:
    """The records of one totals call (DAY: days start..end, inclusive; ascending)."""
    if not ids:
        return
    params = [("entity_type", spec.dimension), *(("entity_ids", i) for i in ids),
              ("granularity", spec.granularity), *(("fields", f) for f in spec.fields)]
    if start is not None and end is not None:
        params += [("report_start", iso(start)), ("report_end", iso(end))]
    window = f" {iso(start)[:10]}..{iso(end)[:10]}" if start and end else ""
    what = f"Ads {spec.table} totals for ad account {account}{window}"
    response = client.get(f"/ad_accounts/{account}/aggregate_reports/totals", params,
                          what=what)
    if response.status_code != 200:
        raise reports.refused(client, response, what, spec)
    rows = [row for row in client.json_object(response, what).get("rows") or []
            if isinstance(row, dict)]
    records = [{
        "ad_account_id": account,
        "table": spec.table,
        "granularity": spec.granularity,
        "dimension": spec.dimension,
        "entity_count": len(ids),
        "start_time": reports.utc_time(row.get("start_time")) if start else None,
        "end_time": reports.utc_time(row.get("end_time")) if start else None,
        **reports.metric_values(spec, row, reports.TOTALS_ROW_KEYS),
    } for row in rows]
    if spec.granularity == "LIFETIME":
        records = records[:1]  # one row by definition
    latest = {r["start_time"]: r for r in records}  # a day answered twice lands once
    yield from sorted(latest.values(), key=lambda r: str(r["start_time"]))
