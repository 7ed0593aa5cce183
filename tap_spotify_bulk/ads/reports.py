"""Ads API v3 report calls and the records they become (api-contract §5.3, §6).

* `aggregate_rows`: one aggregate report (all entities of an account, no per-entity
  fan-out), following continuation tokens; each token is sent alone (URL-encoded by
  `requests`).
* `insight_rows`: one ad set's or campaign's insight report; a 422 INSUFFICIENT_* answer
  is None (not enough data yet; `insights` decides when to ask again).
* `*_record`: the output record of a row, one lower-case column per configured field,
  E_CPM computed from SPEND and IMPRESSIONS, and `extra`: the row's keys the tap does not
  read, stats the report did not ask for and values of an unexpected type (a name that is
  not text, a field value that is not a number), raw, so nothing the API sent is dropped.
"""

from __future__ import annotations

import typing as t

from tap_spotify_bulk.ads.client import error_codes, error_text
from tap_spotify_bulk.ads.fields import E_CPM, KNOWN_FIELDS
from tap_spotify_bulk.ads.times import iso, parse_time
from tap_spotify_bulk.errors import ApiError, ConfigError, did_you_mean

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    import requests

    from tap_spotify_bulk.ads.client import AdsClient
    from tap_spotify_bulk.ads.settings import ReportSpec

PAGE_LIMIT = 50  # rows per aggregate report page
# The keys of a row each kind of record reads (api-contract §6); any other lands in `extra`.
AGGREGATE_ROW_KEYS = frozenset({"entity_type", "entity_id", "entity_name", "entity_status",
                                "parent_entity", "start_time", "end_time", "stats"})
INSIGHT_ROW_KEYS = frozenset({"id", "name", "status", "insight_value", "stats"})
TOTALS_ROW_KEYS = frozenset({"start_time", "end_time", "stats"})
INSUFFICIENT_PREFIX = "ILLEGAL.INSIGHT_REPORT.INSUFFICIENT"


def aggregate_rows(client: AdsClient, account: str, spec: ReportSpec, *,
                   start: dt.date | dt.datetime | None = None,
                   end: dt.date | dt.datetime | None = None) -> Iterator[dict]:
    """Every row of one aggregate report, page after page."""
    params: list[tuple[str, str]] | dict[str, str] = [
        ("entity_type", spec.dimension),
        *(("fields", field) for field in spec.api_fields),
        ("granularity", spec.granularity),
        ("limit", str(PAGE_LIMIT)),
    ]
    if start is not None and end is not None:
        params += [("report_start", iso(start)), ("report_end", iso(end))]
    if spec.dimension in {"AD", "AD_SET"}:
        params.append(("include_parent_entity", "true"))
    window = f" {iso(start)[:13]}..{iso(end)[:13]}" if start and end else ""
    what = f"Ads {spec.table} report for ad account {account}{window}"
    seen: set[str] = set()
    while True:
        response = client.get(f"/ad_accounts/{account}/aggregate_reports", params, what=what)
        if response.status_code != 200:
            raise refused(client, response, what, spec)
        body = client.json_object(response, what)
        rows, token = body.get("rows") or [], body.get("continuation_token")
        del body
        yield from (row for row in rows if isinstance(row, dict))
        del rows  # one parsed page in memory at a time: not this one while reading the next
        if not token:
            return
        if token in seen:
            msg = f"{what}: the API repeated a continuation token; stopping to avoid a loop."
            raise ApiError(msg)
        seen.add(token)
        params = {"continuation_token": token}


def insight_rows(client: AdsClient, account: str, spec: ReportSpec,
                 entity_id: str) -> list[dict] | None:
    """One ad set's or campaign's insight rows (`spec.entity_ids_type`); None when the API
    says there is not enough data yet (a 422 INSUFFICIENT_* answer)."""
    params = [
        ("insight_dimension", spec.dimension),
        *(("fields", field) for field in spec.api_fields),
        ("entity_ids", entity_id),
        ("entity_ids_type", spec.entity_ids_type),
    ]
    label = spec.entity_ids_type.lower().replace("_", " ")
    what = f"Ads {spec.table} insight report for {label} {entity_id}"
    response = client.get(f"/ad_accounts/{account}/insight_reports", params, what=what)
    if response.status_code == 422 and any(
        code.startswith(INSUFFICIENT_PREFIX) for code in error_codes(response)
    ):
        return None
    if response.status_code != 200:
        raise refused(client, response, what, spec)
    rows = client.json_object(response, what).get("rows") or []
    return [row for row in rows if isinstance(row, dict)]


def refused(client: AdsClient, response: requests.Response, what: str,
            spec: ReportSpec) -> Exception:
    """The error of a report call that was not answered 200: a `ConfigError` naming the
    fields the tap does not know when the API refused the request (400) and the report asks
    for some, else the client's usual failure."""
    unknown = spec.unknown_fields
    if response.status_code != 400 or not unknown:
        return client.failure(response, what)
    detail = error_text(response)
    named = ", ".join(f"{name}{did_you_mean(name, KNOWN_FIELDS)}" for name in unknown)
    msg = (f"`ads_report_list` table {spec.table!r}: the Ads API refused the report (HTTP 400"
           f"{': ' + detail if detail else ''}); field(s) {named} are not among "
           "the fields the tap knows: check their spelling or remove them.")
    return ConfigError(msg)


def _number(value: t.Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def metric_values(spec: ReportSpec, row: dict, known: frozenset[str]) -> dict[str, t.Any]:
    """One column per configured field (the API's number; None when absent or not a
    number) and `extra`: the keys of `row` outside `known`, stats the report did not ask
    for and values that are not numbers, raw under their column name (None when none)."""
    extra: dict[str, t.Any] = {k: v for k, v in row.items() if k not in known}
    stats = row.get("stats")
    if stats is not None and not isinstance(stats, list):
        extra["stats"] = stats
    values = {}
    for stat in stats if isinstance(stats, list) else []:
        if not isinstance(stat, dict) or not isinstance(stat.get("field_type"), str):
            extra.setdefault("stats", []).append(stat)
            continue
        field, value = stat["field_type"], stat.get("field_value")
        if field in spec.api_fields and (value is None or _number(value) is not None):
            values[field] = value
        else:
            extra[field.lower()] = value
    out: dict[str, t.Any] = {}
    for field in spec.fields:
        if field == E_CPM:
            out[field.lower()] = e_cpm(values.get("SPEND"), values.get("IMPRESSIONS"))
        else:
            out[field.lower()] = values.get(field)
    out["extra"] = extra or None
    return out


def text(row: dict, key: str, extra: dict[str, t.Any] | None) -> str | None:
    """A text column: the row's string (None when absent); another type is None, its raw
    value kept in `extra`."""
    value = row.get(key)
    if value is None or isinstance(value, str):
        return value
    if extra is not None:
        extra[key] = value
    return None


def e_cpm(spend: float | None, impressions: float | None) -> float | None:
    """Effective cost per mille; None when either value is absent or impressions is 0."""
    if spend is None or not impressions:
        return None
    return spend / impressions * 1000


def aggregate_record(spec: ReportSpec, account: str, row: dict) -> dict:
    metrics = metric_values(spec, row, AGGREGATE_ROW_KEYS)
    extra = metrics.pop("extra") or {}
    parent = row.get("parent_entity")
    if parent is not None and not isinstance(parent, dict):
        extra["parent_entity"] = parent
    entity_id = row.get("entity_id")
    record = {
        "ad_account_id": account,
        "table": spec.table,
        "granularity": spec.granularity,
        "dimension": spec.dimension,
        "entity_type": text(row, "entity_type", extra),
        "entity_id": None if entity_id is None else str(entity_id),
        "entity_name": text(row, "entity_name", extra),
        "entity_status": text(row, "entity_status", extra),
        "parent_entity_id": text(parent, "id", None) if isinstance(parent, dict) else None,
        "start_time": utc_time(row.get("start_time")),
        "end_time": utc_time(row.get("end_time")),
        **metrics,
    }
    record["extra"] = extra or None
    return record


def utc_time(value: t.Any) -> t.Any:
    """`YYYY-MM-DDTHH:MM:SSZ` for any ISO-8601 spelling of a time, so that keys, sorting
    and bookmarks do not depend on how a server writes its offsets; else as given."""
    if not isinstance(value, str):
        return value
    try:
        return iso(parse_time(value))
    except ValueError:
        return value


def insight_record(spec: ReportSpec, account: str, entity: dict, row: dict) -> dict:
    """An insight row of `entity` (an ad set, whose parent is its campaign, or a campaign)."""
    metrics = metric_values(spec, row, INSIGHT_ROW_KEYS)
    extra = metrics.pop("extra") or {}
    record = {
        "ad_account_id": account,
        "table": spec.table,
        "granularity": "LIFETIME",
        "dimension": spec.dimension,
        "entity_type": spec.entity_ids_type,
        "entity_id": row.get("id") or entity.get("id"),
        "entity_name": text(row, "name", extra) or entity.get("name"),
        "entity_status": text(row, "status", extra) or entity.get("status"),
        "parent_entity_id": entity.get("campaign_id"),
        "start_time": None,
        "end_time": None,
        "insight_value": row.get("insight_value"),
        **metrics,
    }
    record["extra"] = extra or None
    return record
