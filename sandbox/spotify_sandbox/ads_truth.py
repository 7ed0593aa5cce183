"""Ground truth of the sandbox's Ads report tables: the records a correct tap emits for an
`ads_report_list`, recomputed from the `AdsWorld` independently of the request path."""

from __future__ import annotations

import calendar
import datetime as dt
import typing as t

from spotify_sandbox.ads_async import LEVELS as ASYNC_LEVELS
from spotify_sandbox.ads_async import STATUSES as ASYNC_STATUSES
from spotify_sandbox.ads_async import AsyncReports
from spotify_sandbox.ads_data import (
    DAY,
    HOUR,
    INSIGHT_VALUES,
    ROW_NOTES,
    AdsWorld,
    midnight,
    totals_rows,
)
from spotify_sandbox.tally import Tally

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
        """{table: Tally.summary()} of what a correct tap emits for `report_list`, every
        column of every record (see `records`)."""
        ids = list(accounts) if accounts is not None else list(self.world.account_ids)
        return {report["table"]: Tally.for_ads_report(report).add_all(
            self._records(report, ids, start, end, now)).summary() for report in report_list}

    def records(self, report_list: Iterable[Mapping[str, t.Any]], *,
                accounts: Iterable[str] | None = None,
                start: dt.date | dt.datetime | None = None,
                end: dt.date | dt.datetime | None = None,
                now: dt.datetime) -> dict[str, list[dict]]:
        """{table: the records a correct tap emits}, each with every column of its table.

        DAY tables cover the days start..end (default: 6 months back .. yesterday), HOUR
        tables the hours start..end (default: the last complete hours of the 14-day
        limit, see `default_hour_range`), LIFETIME and insight tables everything.
        """
        ids = list(accounts) if accounts is not None else list(self.world.account_ids)
        return {report["table"]: list(self._records(report, ids, start, end, now))
                for report in report_list}

    def _records(self, report: Mapping[str, t.Any], ids: list[str], start: t.Any, end: t.Any,
                 now: dt.datetime) -> Iterable[dict]:
        spec = _report(report)
        if spec["kind"] == "async":
            first, last = (self._truth_range("DAY", start, end, now)
                           if spec["granularity"] == "DAY" else (None, None))
            return self._async_truth(ids, spec, first, last, now)
        if spec["kind"] == "totals":
            first, last = (None, None) if spec["granularity"] == "LIFETIME" else (
                self._truth_range("DAY", start, end, now))
            return self._totals_truth(ids, spec, first, last, now)
        if spec["dimension"] in INSIGHT_VALUES:
            return self._insight_truth(ids, spec)
        if spec["granularity"] == "LIFETIME":
            return self._aggregate_truth(ids, spec, None, None, now)
        first, last = self._truth_range(spec["granularity"], start, end, now)
        return self._aggregate_truth(ids, spec, first, last, now)

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
                                             last=last, now=now, parent=True)
            for rows in grouped:
                for row in rows:
                    record = {**self._common(account_id, spec),
                              "entity_type": row["entity_type"], "entity_id": row["entity_id"],
                              "entity_name": row["entity_name"],
                              "entity_status": row["entity_status"],
                              "parent_entity_id": (row.get("parent_entity") or {}).get("id"),
                              "start_time": row["start_time"], "end_time": row["end_time"],
                              "extra": _notes(row)}
                    record.update(_columns(spec["fields"], row["stats"]))
                    yield record

    def _common(self, account_id: str, spec: dict) -> dict:
        """The columns every record of a report table carries."""
        return {"ad_account_id": account_id, "currency_code": self._currency(account_id),
                "table": spec["table"], "granularity": spec["granularity"],
                "dimension": spec["dimension"]}

    def _totals_truth(self, ids: list[str], spec: dict, first: dt.datetime | None,
                      last: dt.datetime | None, now: dt.datetime) -> Iterable[dict]:
        for account_id in ids:
            entities = self.world.entities(account_id, spec["dimension"])
            if spec["entity_ids"]:
                entities = [e for e in entities if e.id in spec["entity_ids"]]
            for row in totals_rows(self.world, entities, spec["granularity"], spec["fields"],
                                   first=first, last=last, now=now):
                record = {**self._common(account_id, spec), "entity_count": len(entities),
                          "start_time": row.get("start_time"), "end_time": row.get("end_time"),
                          "extra": _notes(row)}
                record.update(_columns(spec["fields"], row["stats"]))
                yield record

    def _async_truth(self, ids: list[str], spec: dict, first: dt.datetime | None,
                     last: dt.datetime | None, now: dt.datetime) -> Iterable[dict]:
        """The records of async reports over every status (the tap asks for them all): the
        columns read by name, every other non-empty CSV column as text in `extra`."""
        reports = AsyncReports(self.world, lambda: now)
        level = spec["dimension"]
        params = {"level": level, "dimensions": [f"{level}_NAME"],
                  "metrics": spec["fields"], "statuses": list(ASYNC_STATUSES),
                  "granularity": spec["granularity"], "first": first, "last": last}
        parent = f"{ASYNC_LEVELS[ASYNC_LEVELS.index(level) - 1]}_ID" if level != "AD_ACCOUNT" \
            else None
        read = {"AD_ACCOUNT_ID", f"{level}_ID", f"{level}_NAME", f"{level}_STATUS",
                "START_TIME", "END_TIME", parent, *spec["fields"]}
        for account_id in ids:
            _, rows = reports.table(account_id, params)
            for row in rows:
                extra = {k: str(v) for k, v in row.items()
                         if k not in read and v is not None and v != ""}
                record = {**self._common(account_id, spec), "entity_type": level,
                          "entity_id": row[f"{level}_ID"],
                          "entity_name": row.get(f"{level}_NAME"),
                          "entity_status": row.get(f"{level}_STATUS"),
                          "parent_entity_id": row.get(parent) if parent else None,
                          "start_time": row["START_TIME"], "end_time": row["END_TIME"],
                          "extra": extra or None}
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
                    record = {**self._common(account_id, spec),
                              "entity_type": spec["entity_ids_type"], "entity_id": entity.id,
                              "entity_name": row["name"], "entity_status": row["status"],
                              "parent_entity_id": entity.parent.id if entity.parent else None,
                              "start_time": None, "end_time": None,
                              "insight_value": row["insight_value"], "extra": _notes(row)}
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


def _notes(row: dict) -> dict | None:
    """What a correct client keeps in `extra`: the keys the sandbox adds to a report row
    that the contract does not declare."""
    return {key: row[key] for key in ROW_NOTES if key in row} or None


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
