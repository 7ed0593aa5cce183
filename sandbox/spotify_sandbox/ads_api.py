"""The sandbox's Ads API v3 (api-contract §6): listings, aggregate and insight reports, the
reporting rate limit, and the ground truth a correct tap emits.

The server core validates the Ads bearer token and applies generic faults, then hands
every request under `/ads/v3/` to `AdsApi.handle`. Report data comes from `AdsWorld`
(pure functions of the seed), so `truth` recomputes exactly what the API serves.

Request checks and error bodies are `ads_requests`, report parameters and continuation
tokens `ads_report_params`, the reporting rate limit `ads_rate_limit`, the entity lists
`ads_entities`.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import threading
import time
import typing as t
from dataclasses import fields as dataclass_fields

from spotify_sandbox.ads_async import AsyncReports
from spotify_sandbox.ads_data import AdsWorld, AdsWorldOptions, totals_rows
from spotify_sandbox.ads_entities import ENTITY_STREAMS, SORT_FIELDS, EntityLists
from spotify_sandbox.ads_fields import API_FIELDS
from spotify_sandbox.ads_rate_limit import RateLimiter
from spotify_sandbox.ads_report_params import (
    aggregate_params,
    decode_token,
    encode_token,
    insight_params,
    totals_params,
)
from spotify_sandbox.ads_requests import BadRequest, error_body, integer, moment, one
from spotify_sandbox.ads_truth import ReportTruth, as_moment, default_hour_range
from spotify_sandbox.routing import SandboxRequest, SandboxResponse

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REPORT_KINDS = frozenset({"aggregate_reports", "insight_reports", "totals", "async_reports",
                          "async_report"})


class AdsApi:
    """Ads API v3 over an `AdsWorld`. Options: every `AdsWorldOptions` field, plus

    * `rate_limit` / `rate_window`: reporting requests per token per window (150 / 30 s);
    * `other_rate_limit`: other requests per token per `rate_window` (1,500 / 30 s);
    * `rate_headers`: "always" (default: `X-RateLimit-*` on every answer) or "on_429";
    * `today`: the day the data is anchored at (default: today in UTC);
    * `now`: a fixed clock for report ranges and HOUR rules (default: the real clock);
    * `page_unit`: what `limit` counts on aggregate pages, "entity" (default: an entity
      with all its rows in the range) or "row";
    * `list_overlap`: items each campaigns/ad_sets/ads page repeats from the previous one;
    * `sort_lists`: False makes those lists ignore `sort_field` (always newest created first);
    * `new_fields`: report fields served beyond the v3 list, as when Spotify adds a metric;
    * `async_polls`, `async_fates`, `async_url_ttl`: async reports' PROCESSING answers, the
      fates of the reports created one after another, and their URLs' lifetime (see
      `ads_async`).

    At run time, tests may move the clock (`fixed_now`), restate recent values
    (`world.version += 1`), credit late conversions to a past day
    (`credit_late_conversions`) and edit entities (`lists.touch`); `stats` counts requests per
    endpoint and answers sent (`sent_429`, `sent_400`, `sent_422`), `report_log` lists
    every report request.
    """

    def __init__(self, *, seed: int, rate_limit: int = 150, rate_window: float = 30.0,
                 other_rate_limit: int = 1500, rate_headers: str = "always",
                 today: dt.date | str | None = None, now: dt.datetime | str | None = None,
                 page_unit: str = "entity", list_overlap: int = 0, sort_lists: bool = True,
                 new_fields: Iterable[str] = (), async_polls: int = 1,
                 async_fates: Iterable[str] = (), async_url_ttl: float = 300.0,
                 **options: t.Any) -> None:
        known = {f.name for f in dataclass_fields(AdsWorldOptions)}
        unknown = sorted(set(options) - known)
        if unknown:
            msg = f"unknown Ads sandbox option(s): {', '.join(unknown)}"
            raise TypeError(msg)
        if page_unit not in {"entity", "row"}:
            msg = "page_unit must be 'entity' or 'row'"
            raise ValueError(msg)
        if isinstance(now, str):  # from the sandbox CLI's --ads JSON
            now = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        if isinstance(today, str):
            today = dt.date.fromisoformat(today)
        self.fixed_now = as_moment(now) if now is not None else None
        self.page_unit = page_unit
        self.world = AdsWorld(seed, today or self.now().date(), AdsWorldOptions(**options))
        self.lists = EntityLists(self.world)
        self.list_overlap = list_overlap
        self.sort_lists = sort_lists
        self.known_fields = API_FIELDS | frozenset(new_fields)
        self.async_reports = AsyncReports(self.world, self.now, polls=async_polls,
                                          fates=tuple(async_fates), url_ttl=async_url_ttl)
        self.files_base = ""  # where report_url points: set by the server core
        self.limiter = RateLimiter(rate_limit, rate_window, time.monotonic)
        self.other_limiter = RateLimiter(other_rate_limit, rate_window, time.monotonic)
        if rate_headers not in {"on_429", "always"}:
            msg = "rate_headers must be 'on_429' or 'always'"
            raise ValueError(msg)
        self.rate_headers = rate_headers
        self.stats: collections.Counter[str] = collections.Counter()
        self.report_log: list[dict] = []  # one entry per aggregate/insight request
        self._lock = threading.Lock()
        self._throttled = 0

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(dt.UTC)

    # ---- HTTP ------------------------------------------------------------------------

    def handle(self, req: SandboxRequest) -> SandboxResponse:
        parts = [p for p in req.path.split("/") if p]
        kind = self._kind(parts)
        with self._lock:
            self.stats[f"requests_{kind}"] += 1
            self.stats["requests"] += 1
            # Each endpoint class has its own budget.
            limiter = self.limiter if kind in REPORT_KINDS else self.other_limiter
            allowed, headers = limiter.admit(req.token)
            if allowed and self.rate_headers != "always":
                headers = {}
            if not allowed:
                self.stats["sent_429"] += 1
                self._throttled += 1
                response = error_body(429, "Too many requests", "RATE_LIMITED")
                if self._throttled % 2:  # Retry-After only on every other 429
                    response.headers["Retry-After"] = headers["X-RateLimit-Reset"]
                response.headers.update(headers)
                return response
        allowed_method = "POST" if kind == "async_reports" else "GET"
        if req.method != allowed_method:
            return error_body(405, f"{req.method} is not supported here", "METHOD_NOT_ALLOWED")
        try:
            if kind == "async_reports":
                body, status = self._create_async(parts[1], req.body), 201
            else:
                body, status = self._route(kind, parts, req.query), 200
        except BadRequest as exc:
            with self._lock:
                self.stats[f"sent_{exc.status}"] += 1
            response = error_body(exc.status, str(exc), exc.code)
        else:
            response = SandboxResponse(status, json.dumps(body).encode())
        response.headers.update(headers)
        return response

    @staticmethod
    def _kind(parts: list[str]) -> str:  # noqa: PLR0911 (one return per route)
        match parts:
            case ["businesses"]:
                return "businesses"
            case ["businesses", _, "ad_accounts"]:
                return "business_ad_accounts"
            case ["ad_accounts", _]:
                return "ad_account"
            case ["ad_accounts", _, ("campaigns" | "ad_sets" | "ads") as listing]:
                return listing
            case ["ad_accounts", _, ("aggregate_reports" | "insight_reports") as report]:
                return report
            case ["ad_accounts", _, "aggregate_reports", "totals"]:
                return "totals"
            case ["ad_accounts", _, "async_reports"]:
                return "async_reports"
            case ["ad_accounts", _, "async_reports", _]:
                return "async_report"
        return "unknown"

    def _route(self, kind: str, parts: list[str], query: dict[str, list[str]]) -> dict:
        world = self.world
        if kind == "businesses":
            return {"businesses": self.lists.businesses()}
        if kind == "business_ad_accounts":
            accounts = world.business_accounts(parts[1])
            if accounts is None:
                raise BadRequest(f"business {parts[1]} not found", "NOT_FOUND", 404)
            return {"ad_accounts": [self.lists.account(a["id"]) for a in accounts]}
        if kind == "unknown":
            raise BadRequest("no such resource", "NOT_FOUND", 404)
        account = self.lists.account(parts[1])
        if account is None:
            raise BadRequest(f"ad account {parts[1]} not found", "NOT_FOUND", 404)
        if kind == "ad_account":
            return account
        if kind in {"campaigns", "ad_sets", "ads"}:
            return self._listing(parts[1], kind, query)
        if kind == "async_report":
            return self.async_reports.status(parts[1], parts[3], self.files_base)
        report = {"aggregate_reports": self._aggregate, "totals": self._totals,
                  "insight_reports": self._insight}[kind]
        return report(parts[1], query)

    def _create_async(self, account_id: str, raw: bytes) -> dict:
        if self.lists.account(account_id) is None:
            raise BadRequest(f"ad account {account_id} not found", "NOT_FOUND", 404)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        return self.async_reports.create(account_id, body)

    def _listing(self, account_id: str, kind: str, query: dict[str, list[str]]) -> dict:
        """One offset page; with `list_overlap` N, pages after the first start N items
        early, as a list does when entities are added at its head while a client pages."""
        limit = integer(query, "limit", 50, 1, 50)
        offset = integer(query, "offset", 0, 0, 10**9)
        sort_field = one(query, "sort_field") or "CREATED_AT"
        if sort_field not in SORT_FIELDS[kind]:
            raise BadRequest(f"sort_field must be one of {', '.join(SORT_FIELDS[kind])}")
        direction = one(query, "sort_direction") or "DESC"
        if direction not in {"ASC", "DESC"}:
            raise BadRequest("sort_direction must be ASC or DESC")
        if not self.sort_lists:  # a server that ignores the sort parameters
            sort_field, direction = "CREATED_AT", "DESC"
        items = self.lists.listing(account_id, kind, sort_field, direction)
        first = max(offset - self.list_overlap, 0) if offset else 0
        paging = {"page_size": limit, "total_results": len(items), "offset": offset,
                  "current_page": offset // limit + 1}
        return {"paging": paging, kind: items[first:first + limit]}

    def entity_truth(self, streams: Iterable[str] = ENTITY_STREAMS, *,
                     accounts: Iterable[str] | None = None,
                     updated_since: str | None = None) -> dict[str, dict]:
        """{entity stream: Tally.summary()} of what a correct tap emits (see EntityLists)."""
        ids = list(accounts) if accounts is not None else None
        return self.lists.truth(streams, ids, updated_since)

    # ---- aggregate reports -----------------------------------------------------------

    def _aggregate(self, account_id: str, query: dict[str, list[str]]) -> dict:
        warnings = []
        token = query.get("continuation_token")
        if token:
            state = decode_token(token[0], account_id)
            if set(query) - {"continuation_token"}:
                warnings.append("continuation_token was supplied: other parameters ignored")
            params, offset = state["p"], state["o"]
        else:
            params, offset = aggregate_params(query, self.now(), self.known_fields), 0
        page, next_offset = self._page(account_id, params, offset, self.now())
        next_token = None
        if next_offset is not None:
            next_token = encode_token({"a": account_id, "p": params, "o": next_offset})
        with self._lock:
            self.report_log.append({
                "kind": "aggregate", "account": account_id, "continued": bool(token),
                "entity_type": params["entity_type"], "granularity": params["granularity"],
                "report_start": params["report_start"], "report_end": params["report_end"],
                "rows": len(page)})
        return {"continuation_token": next_token, "granularity": params["granularity"],
                "report_start": params["report_start"], "report_end": params["report_end"],
                "rows": page, "warnings": warnings}

    def _page(self, account_id: str, params: dict, offset: int,
              now: dt.datetime) -> tuple[list[dict], int | None]:
        """One page from `offset`: `limit` entities (with all their rows) or `limit` rows."""
        first = moment(params["report_start"]) if params["report_start"] else None
        last = moment(params["report_end"]) if params["report_end"] else None
        limit = params["limit"]
        select = slice(offset, offset + limit) if self.page_unit == "entity" else None
        grouped = self.world.report_rows(
            account_id, params["entity_type"], params["granularity"], params["fields"],
            first=first, last=last, now=now, parent=params["include_parent_entity"],
            select=select)
        end = offset + limit
        if self.page_unit == "entity":
            total = len(self.world.entities(account_id, params["entity_type"]))
            return [row for rows in grouped for row in rows], (end if end < total else None)
        flat = [row for rows in grouped for row in rows]
        return flat[offset:end], (end if end < len(flat) else None)

    # ---- insight reports -------------------------------------------------------------

    def _insight(self, account_id: str, query: dict[str, list[str]]) -> dict:
        dimension, fields, entity_type, entity_id = insight_params(query, self.known_fields)
        entity = self.world.find(account_id, entity_type, entity_id)
        if entity is None:
            label = entity_type.lower().replace("_", " ")
            raise BadRequest(f"{label} {entity_id} not found", "NOT_FOUND", 404)
        code = self.world.insufficient_code(entity)
        with self._lock:
            self.report_log.append({"kind": "insight", "account": account_id,
                                    "dimension": dimension, "entity_type": entity_type,
                                    "entity": entity.id, "insufficient": bool(code)})
        if code:
            raise BadRequest("not enough data for an insight report", code, 422)
        return {"granularity": "LIFETIME", "entity": entity_type, "insight": dimension,
                "rows": self.world.insight_rows(entity, dimension, fields)}

    # ---- totals ----------------------------------------------------------------------

    def _totals(self, account_id: str, query: dict[str, list[str]]) -> dict:
        params = totals_params(query)
        entities = []
        for entity_id in params["entity_ids"]:
            entity = self.world.find(account_id, params["entity_type"], entity_id)
            if entity is None:
                raise BadRequest(f"{entity_id} is no {params['entity_type']} of this account")
            entities.append(entity)
        with self._lock:
            self.report_log.append({"kind": "totals", "account": account_id,
                                    "granularity": params["granularity"],
                                    "entities": len(entities)})
        rows = totals_rows(self.world, entities, params["granularity"], params["fields"],
                           first=params["first"], last=params["last"], now=self.now())
        return {"granularity": params["granularity"], "rows": rows}

    # ---- late attribution ------------------------------------------------------------

    def credit_late_conversions(self, day: dt.date) -> dict:
        """Credit more conversions and revenue to `day` for every ad with a pixel (see
        `AdsWorld.credit_late_conversions`); the truth follows. `ValueError` for a day that
        is not in the past."""
        with self._lock:
            ads = self.world.credit_late_conversions(day, self.now())
            return {"date": day.isoformat(), "credits": self.world.late_credits[day],
                    "ads_credited": len(ads)}

    # ---- ground truth ----------------------------------------------------------------

    def truth(self, report_list: Iterable[Mapping[str, t.Any]], *,
              accounts: Iterable[str] | None = None,
              start: dt.date | dt.datetime | None = None,
              end: dt.date | dt.datetime | None = None,
              now: dt.datetime | None = None) -> dict[str, dict]:
        """{table: Tally.summary()} of what a correct tap emits (see `ReportTruth`)."""
        return ReportTruth(self.world).truth(report_list, accounts=accounts, start=start,
                                             end=end, now=now or self.now())

    def report_records(self, report_list: Iterable[Mapping[str, t.Any]], *,
                       accounts: Iterable[str] | None = None,
                       start: dt.date | dt.datetime | None = None,
                       end: dt.date | dt.datetime | None = None,
                       now: dt.datetime | None = None) -> dict[str, list[dict]]:
        """{table: the records a correct tap emits} (see `ReportTruth.records`)."""
        return ReportTruth(self.world).records(report_list, accounts=accounts, start=start,
                                               end=end, now=now or self.now())

    default_hour_range = staticmethod(default_hour_range)

