"""Ground truth of the sandbox's Ads report tables: the records a correct tap emits for an
`ads_report_list`, recomputed from the `AdsWorld` independently of the request path."""

from __future__ import annotations

import calendar
import datetime as dt
import typing as t

from spotify_sandbox.ads_async import STATUSES as ASYNC_STATUSES
from spotify_sandbox.ads_async import AsyncReports
from spotify_sandbox.ads_data import DAY, HOUR, INSIGHT_VALUES, AdsWorld, midnight, totals_rows
from spotify_sandbox.tally import (
    ADS_KEYS_INSIGHT,
    ADS_KEYS_LIFETIME,
    ADS_KEYS_TIMESERIES,
    ADS_KEYS_TOTALS_DAY,
    ADS_KEYS_TOTALS_LIFETIME,
    Tally,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

HOUR_HISTORY = dt.timedelta(days=14)


def default_hour_range(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The HOUR range a first sync reads: 14 days back (one hour of margin) to the last
    complete hour, both inclusive."""
    current = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return current - HOUR_HISTORY + HOUR, current - HOUR


class ReportTruth:
    """Tallies of the report tables of one `AdsWorld`."""

    def __init__(self, world: AdsWorld) -> None:
        self.world = world

    def truth(self, report_list: Iterable[Mapping[str, t.Any]], *,
              accounts: Iterable[str] | None = None,
              start: dt.date | dt.datetime | None = None,
              end: dt.date | dt.datetime | None = None,
              now: dt.datetime) -> dict[str, dict]:
        """{table: Tally.summary()} of what a correct tap emits for `report_list`.

        DAY tables cover the days start..end (default: 6 months back .. yesterday), HOUR
        tables the hours start..end (default: the last complete hours of the 14-day
        limit, see `default_hour_range`), LIFETIME and insight tables everything.
        """
        ids = list(accounts) if accounts is not None else list(self.world.account_ids)
        out = {}
        for report in report_list:
            spec = _report(report)
            columns = [f.lower() for f in spec["fields"]]
            if spec["kind"] == "async":
                timeseries = spec["granularity"] == "DAY"
                first, last = (self._truth_range("DAY", start, end, now) if timeseries
                               else (None, None))
                keys = ADS_KEYS_TIMESERIES if timeseries else ADS_KEYS_LIFETIME
                tally = Tally.for_ads_report(keys, columns)
                tally.add_all(self._async_truth(ids, spec, first, last, now))
            elif spec["kind"] == "totals":
                first, last = (None, None) if spec["granularity"] == "LIFETIME" else (
                    self._truth_range("DAY", start, end, now))
                keys = ADS_KEYS_TOTALS_DAY if first else ADS_KEYS_TOTALS_LIFETIME
                tally = Tally.for_ads_report(keys, columns)
                tally.add_all(self._totals_truth(ids, spec, first, last, now))
            elif spec["dimension"] in INSIGHT_VALUES:
                tally = Tally.for_ads_report(ADS_KEYS_INSIGHT, columns)
                tally.add_all(self._insight_truth(ids, spec))
            elif spec["granularity"] == "LIFETIME":
                tally = Tally.for_ads_report(ADS_KEYS_LIFETIME, columns)
                tally.add_all(self._aggregate_truth(ids, spec, None, None, now))
            else:
                first, last = self._truth_range(spec["granularity"], start, end, now)
                tally = Tally.for_ads_report(ADS_KEYS_TIMESERIES, columns)
                tally.add_all(self._aggregate_truth(ids, spec, first, last, now))
            out[spec["table"]] = tally.summary()
        return out

    def _truth_range(self, granularity: str, start: t.Any, end: t.Any,
                     now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        if granularity == "HOUR":
            lo, hi = default_hour_range(now)
            return (as_moment(start) if start else lo), (as_moment(end) if end else hi)
        yesterday = now.date() - DAY
        first = as_moment(start) if start else midnight(_months_back(now.date(), 6))
        last = as_moment(end) if end else midnight(yesterday)
        return first, last

    def _aggregate_truth(self, ids: list[str], spec: dict, first: dt.datetime | None,
                         last: dt.datetime | None, now: dt.datetime) -> Iterable[dict]:
        wanted = _api_fields(spec["fields"])
        for account_id in ids:
            grouped = self.world.report_rows(account_id, spec["dimension"],
                                             spec["granularity"], wanted, first=first,
                                             last=last, now=now, parent=False)
            for rows in grouped:
                for row in rows:
                    record = {"ad_account_id": account_id, "entity_id": row["entity_id"],
                              "start_time": row["start_time"],
                              "currency_code": self._currency(account_id)}
                    record.update(_columns(spec["fields"], row["stats"]))
                    yield record

    def _totals_truth(self, ids: list[str], spec: dict, first: dt.datetime | None,
                      last: dt.datetime | None, now: dt.datetime) -> Iterable[dict]:
        for account_id in ids:
            entities = self.world.entities(account_id, spec["dimension"])
            if spec["entity_ids"]:
                entities = [e for e in entities if e.id in spec["entity_ids"]]
            for row in totals_rows(self.world, entities, spec["granularity"], spec["fields"],
                                   first=first, last=last, now=now):
                record = {"ad_account_id": account_id, "start_time": row.get("start_time"),
                          "currency_code": self._currency(account_id)}
                record.update(_columns(spec["fields"], row["stats"]))
                yield record

    def _async_truth(self, ids: list[str], spec: dict, first: dt.datetime | None,
                     last: dt.datetime | None, now: dt.datetime) -> Iterable[dict]:
        """The records of async reports over every status (the tap asks for them all)."""
        reports = AsyncReports(self.world, lambda: now)
        params = {"level": spec["dimension"], "dimensions": [f"{spec['dimension']}_NAME"],
                  "metrics": spec["fields"], "statuses": list(ASYNC_STATUSES),
                  "granularity": spec["granularity"], "first": first, "last": last}
        for account_id in ids:
            _, rows = reports.table(account_id, params)
            for row in rows:
                record = {"ad_account_id": account_id,
                          "entity_id": row[f"{spec['dimension']}_ID"],
                          "start_time": row["START_TIME"],
                          "currency_code": self._currency(account_id)}
                record.update({m.lower(): row.get(m) for m in spec["fields"]})
                yield record

    def _currency(self, account_id: str) -> str:
        return str(self.world.account(account_id)["currency_code"])

    def _insight_truth(self, ids: list[str], spec: dict) -> Iterable[dict]:
        for account_id in ids:
            for entity in self.world.entities(account_id, spec["entity_ids_type"]):
                if self.world.insufficient_code(entity):
                    continue
                for row in self.world.insight_rows(entity, spec["dimension"], spec["fields"]):
                    record = {"ad_account_id": account_id, "entity_id": entity.id,
                              "insight_value": row["insight_value"],
                              "currency_code": self._currency(account_id)}
                    record.update(_columns(spec["fields"], row["stats"]))
                    yield record


def as_moment(value: dt.date | dt.datetime) -> dt.datetime:
    """A date (as UTC midnight) or a datetime, as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return midnight(value)


def _months_back(today: dt.date, months: int) -> dt.date:
    total = today.year * 12 + today.month - 1 - months
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def _report(report: Mapping[str, t.Any]) -> dict:
    return {"table": report["table"], "dimension": str(report["dimension"]).upper(),
            "granularity": str(report.get("granularity") or "LIFETIME").upper(),
            "fields": [str(f).upper() for f in report["fields"]],
            "entity_ids_type": str(report.get("entity_ids_type") or "AD_SET").upper(),
            "kind": str(report.get("kind") or "aggregate").lower(),
            "entity_ids": list(report.get("entity_ids") or [])}


def _api_fields(fields: list[str]) -> list[str]:
    wanted = [f for f in fields if f != "E_CPM"]
    if "E_CPM" in fields:
        wanted += [f for f in ("SPEND", "IMPRESSIONS") if f not in wanted]
    return wanted


def _columns(fields: list[str], stats: list[dict]) -> dict[str, t.Any]:
    values = {s["field_type"]: s["field_value"] for s in stats}
    out: dict[str, t.Any] = {}
    for field in fields:
        if field == "E_CPM":
            spend, impressions = values.get("SPEND"), values.get("IMPRESSIONS")
            out["e_cpm"] = (None if spend is None or not impressions
                            else spend / impressions * 1000)
        else:
            out[field.lower()] = values.get(field)
    return out
