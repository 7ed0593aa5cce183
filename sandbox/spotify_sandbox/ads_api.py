"""The sandbox's Ads API v3 (api-contract §6): listings, aggregate and insight reports, the
reporting rate limit, and the ground truth a correct tap emits.

The server core validates the Ads bearer token and applies generic faults, then hands
every request under `/ads/v3/` to `AdsApi.handle`. Report data comes from `AdsWorld`
(pure functions of the seed), so `truth` recomputes exactly what the API serves.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import json
import math
import re
import threading
import time
import typing as t
import uuid
from dataclasses import fields as dataclass_fields

from spotify_sandbox.ads_data import (
    ENTITY_TYPES,
    INSIGHT_VALUES,
    AdsWorld,
    AdsWorldOptions,
)
from spotify_sandbox.ads_entities import ENTITY_STREAMS, SORT_FIELDS, EntityLists
from spotify_sandbox.ads_fields import API_FIELDS, INSIGHT_REFUSED
from spotify_sandbox.ads_truth import (
    HOUR_HISTORY,
    ReportTruth,
    as_moment,
    default_hour_range,
)
from spotify_sandbox.routing import SandboxRequest, SandboxResponse

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

MAX_DAY_SPAN = dt.timedelta(days=90)
# Continuation tokens carry '+', '/' and '=' on purpose: the client must URL-encode them.
TOKEN_PREFIX = "ct+"  # noqa: S105 (not a secret)
TOKEN_SUFFIX = "/="  # noqa: S105
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
AGGREGATE_PARAMS = frozenset({"entity_type", "fields", "granularity", "report_start",
                              "report_end", "include_parent_entity", "limit",
                              "continuation_token"})
INSIGHT_PARAMS = frozenset({"insight_dimension", "fields", "entity_ids", "entity_ids_type",
                            "granularity"})
REPORT_KINDS = frozenset({"aggregate_reports", "insight_reports"})


class BadRequest(Exception):  # noqa: N818 (an answer, not a failure of ours)
    def __init__(self, message: str, code: str = "INVALID_ARGUMENT", status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


def error_body(status: int, message: str, code: str) -> SandboxResponse:
    body = {"sp_trace_id": str(uuid.uuid4()), "messages": [message],
            "error_codes": [{"code": code, "definition": message}]}
    return SandboxResponse(status, json.dumps(body).encode())


class RateLimiter:
    """`limit` reporting requests per `window` seconds per token (sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)

    def admit(self, token: str) -> tuple[bool, dict[str, str]]:
        """(allowed, X-RateLimit-* headers) for one request made with `token`."""
        now = self._clock()
        sent = self._sent[token]
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        allowed = len(sent) < self.limit
        if allowed:
            sent.append(now)
        reset = sent[0] + self.window - now if sent else 0.0
        headers = {"X-RateLimit-Limit": str(self.limit),
                   "X-RateLimit-Remaining": str(max(self.limit - len(sent), 0)),
                   "X-RateLimit-Reset": str(math.ceil(max(reset, 0.0)))}
        return allowed, headers


class AdsApi:
    """Ads API v3 over an `AdsWorld`. Options: every `AdsWorldOptions` field, plus

    * `rate_limit` / `rate_window`: reporting requests per token per window (150 / 30 s);
    * `today`: the day the data is anchored at (default: today in UTC);
    * `now`: a fixed clock for report ranges and HOUR rules (default: the real clock);
    * `page_unit`: what `limit` counts on aggregate pages, "entity" (default: an entity
      with all its rows in the range) or "row";
    * `list_overlap`: items each campaigns/ad_sets/ads page repeats from the previous one;
    * `sort_lists`: False makes those lists ignore `sort_field` (always newest created first).

    At run time, tests may move the clock (`fixed_now`), restate recent values
    (`world.version += 1`) and edit entities (`lists.touch`); `stats` counts requests per
    endpoint and answers sent (`sent_429`, `sent_400`, `sent_422`), `report_log` lists
    every report request.
    """

    def __init__(self, *, seed: int, rate_limit: int = 150, rate_window: float = 30.0,
                 today: dt.date | str | None = None, now: dt.datetime | str | None = None,
                 page_unit: str = "entity", list_overlap: int = 0, sort_lists: bool = True,
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
        self.limiter = RateLimiter(rate_limit, rate_window, time.monotonic)
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
            headers: dict[str, str] = {}
            if kind in REPORT_KINDS:
                allowed, headers = self.limiter.admit(req.token)
                if not allowed:
                    self.stats["sent_429"] += 1
                    self._throttled += 1
                    response = error_body(429, "Too many requests", "RATE_LIMITED")
                    if self._throttled % 2:  # Retry-After only on every other 429
                        response.headers["Retry-After"] = headers["X-RateLimit-Reset"]
                    response.headers.update(headers)
                    return response
        if req.method != "GET":
            return error_body(405, f"{req.method} is not supported here", "METHOD_NOT_ALLOWED")
        try:
            body = self._route(kind, parts, req.query)
        except BadRequest as exc:
            with self._lock:
                self.stats[f"sent_{exc.status}"] += 1
            response = error_body(exc.status, str(exc), exc.code)
        else:
            response = SandboxResponse(200, json.dumps(body).encode())
        response.headers.update(headers)
        return response

    @staticmethod
    def _kind(parts: list[str]) -> str:
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
        if kind == "aggregate_reports":
            return self._aggregate(parts[1], query)
        return self._insight(parts[1], query)

    def _listing(self, account_id: str, kind: str, query: dict[str, list[str]]) -> dict:
        """One offset page; with `list_overlap` N, pages after the first start N items
        early, as a list does when entities are added at its head while a client pages."""
        limit = _int(query, "limit", 50, 1, 50)
        offset = _int(query, "offset", 0, 0, 10**9)
        sort_field = _one(query, "sort_field") or "CREATED_AT"
        if sort_field not in SORT_FIELDS[kind]:
            raise BadRequest(f"sort_field must be one of {', '.join(SORT_FIELDS[kind])}")
        direction = _one(query, "sort_direction") or "DESC"
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
            state = self._decode(token[0], account_id)
            if set(query) - {"continuation_token"}:
                warnings.append("continuation_token was supplied: other parameters ignored")
            params, offset = state["p"], state["o"]
        else:
            params, offset = self._aggregate_params(query), 0
        page, next_offset = self._page(account_id, params, offset, self.now())
        next_token = None
        if next_offset is not None:
            next_token = self._encode({"a": account_id, "p": params, "o": next_offset})
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
        first = _parse(params["report_start"]) if params["report_start"] else None
        last = _parse(params["report_end"]) if params["report_end"] else None
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

    def _aggregate_params(self, query: dict[str, list[str]]) -> dict:  # noqa: PLR0912
        unknown = sorted(set(query) - AGGREGATE_PARAMS)
        if unknown:
            raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
        entity_type = _one(query, "entity_type")
        if entity_type not in ENTITY_TYPES:
            raise BadRequest(f"entity_type must be one of {', '.join(ENTITY_TYPES)}, "
                             f"got {entity_type!r}")
        fields = _fields(query)
        granularity = _one(query, "granularity") or "LIFETIME"
        if granularity not in {"LIFETIME", "DAY", "HOUR"}:
            raise BadRequest(f"unknown granularity {granularity!r}")
        limit = _int(query, "limit", 50, 1, 50)
        parent_text = (_one(query, "include_parent_entity") or "false").lower()
        if parent_text not in {"true", "false"}:
            raise BadRequest("include_parent_entity must be true or false")
        parent = parent_text == "true"
        if parent and entity_type not in {"AD", "AD_SET"}:
            raise BadRequest("include_parent_entity is only valid for AD and AD_SET")
        start_text, end_text = _one(query, "report_start"), _one(query, "report_end")
        start = _parse(start_text) if start_text else None
        end = _parse(end_text) if end_text else None
        for moment, name in ((start, "report_start"), (end, "report_end")):
            if moment is not None and (moment.minute or moment.second):
                raise BadRequest(f"{name} must be expressed in whole hours")
        if granularity != "LIFETIME" and (start is None or end is None):
            raise BadRequest(f"report_start and report_end are required for {granularity}")
        if start is not None and end is not None:
            if end < start:
                raise BadRequest("report_end is before report_start")
            if granularity in {"DAY", "LIFETIME"} and end - start > MAX_DAY_SPAN:
                raise BadRequest("report_start and report_end must be within 90 days")
        if granularity == "DAY" and (start.hour or end.hour):
            raise BadRequest("DAY reports need UTC midnight report_start and report_end")
        if granularity == "HOUR":
            current = self.now().replace(minute=0, second=0, microsecond=0)
            if start < current - HOUR_HISTORY or end > current:
                raise BadRequest("HOUR reports must lie within the last 14 days")
        if granularity == "LIFETIME":
            start_text = end_text = None  # lifetime totals: the range is not used here
        return {"entity_type": entity_type, "fields": fields, "granularity": granularity,
                "limit": limit, "include_parent_entity": parent,
                "report_start": start_text, "report_end": end_text}

    @staticmethod
    def _encode(state: dict) -> str:
        text = base64.b64encode(json.dumps(state, sort_keys=True).encode()).decode()
        return f"{TOKEN_PREFIX}{text}{TOKEN_SUFFIX}"

    @staticmethod
    def _decode(token: str, account_id: str) -> dict:
        try:
            if not (token.startswith(TOKEN_PREFIX) and token.endswith(TOKEN_SUFFIX)):
                raise ValueError
            inner = token[len(TOKEN_PREFIX):-len(TOKEN_SUFFIX)]
            state = json.loads(base64.b64decode(inner, validate=True))
        except (ValueError, binascii.Error):
            raise BadRequest("invalid continuation_token (was it URL-encoded?)") from None
        if state.get("a") != account_id:
            raise BadRequest("continuation_token belongs to another ad account")
        return state

    # ---- insight reports -------------------------------------------------------------

    def _insight(self, account_id: str, query: dict[str, list[str]]) -> dict:
        unknown = sorted(set(query) - INSIGHT_PARAMS)
        if unknown:
            raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
        dimension = _one(query, "insight_dimension")
        if dimension not in INSIGHT_VALUES:
            raise BadRequest(f"unsupported insight_dimension {dimension!r}")
        if (_one(query, "granularity") or "LIFETIME") != "LIFETIME":
            raise BadRequest("insight reports are LIFETIME only")
        fields = _fields(query)
        refused = [f for f in fields if f in INSIGHT_REFUSED]
        if refused:
            raise BadRequest(f"field(s) not allowed in insight reports: {', '.join(refused)}")
        ids = query.get("entity_ids") or []
        if len(ids) != 1:
            raise BadRequest("insight reports take exactly one entity id")
        if _one(query, "entity_ids_type") != "AD_SET":
            raise BadRequest("entity_ids_type must be AD_SET")
        ad_set = self.world.find(account_id, "AD_SET", ids[0])
        if ad_set is None:
            raise BadRequest(f"ad set {ids[0]} not found", "NOT_FOUND", 404)
        with self._lock:
            self.report_log.append({"kind": "insight", "account": account_id,
                                    "dimension": dimension, "ad_set": ad_set.id})
        code = self.world.insufficient_code(ad_set)
        if code:
            raise BadRequest("not enough data for an insight report", code, 422)
        return {"granularity": "LIFETIME", "entity": "AD_SET", "insight": dimension,
                "rows": self.world.insight_rows(ad_set, dimension, fields)}

    # ---- ground truth ----------------------------------------------------------------

    def truth(self, report_list: Iterable[Mapping[str, t.Any]], *,
              accounts: Iterable[str] | None = None,
              start: dt.date | dt.datetime | None = None,
              end: dt.date | dt.datetime | None = None,
              now: dt.datetime | None = None) -> dict[str, dict]:
        """{table: Tally.summary()} of what a correct tap emits (see `ReportTruth`)."""
        return ReportTruth(self.world).truth(report_list, accounts=accounts, start=start,
                                             end=end, now=now or self.now())

    default_hour_range = staticmethod(default_hour_range)


# ---- helpers -------------------------------------------------------------------------


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    if len(values) > 1:
        raise BadRequest(f"{name} given more than once")
    return values[0] if values else None


def _int(query: dict[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    text = _one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return value


def _fields(query: dict[str, list[str]]) -> list[str]:
    fields = query.get("fields") or []
    if not fields:
        raise BadRequest("fields is required")
    unknown = [f for f in fields if f not in API_FIELDS]
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    return list(dict.fromkeys(fields))


def _parse(text: str) -> dt.datetime:
    if not _TIME.match(text):
        raise BadRequest(f"bad timestamp {text!r}: use YYYY-MM-DDTHH:MM:SSZ")
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise BadRequest(f"bad timestamp {text!r}") from None
