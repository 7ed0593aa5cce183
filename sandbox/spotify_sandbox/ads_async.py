"""The sandbox's async CSV reports (api-contract §6 `async_reports`): create, poll, download.

A report answers PROCESSING for `polls` status calls, then READY with a `report_url` on
this server that needs no token and expires after `url_ttl` seconds; `fates` makes the
reports created one after another FAILED, EXPIRED or served with an already expired URL
first ("URL_EXPIRED"), in that order (then READY). The CSV rows are a pure function of the
world, so `rows` is also the ground truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import threading
import time
import typing as t
from dataclasses import dataclass, field

from spotify_sandbox.ads_data import (
    DAY,
    RESTATED,
    AdsWorld,
    iso,
    lifetime_end,
    make_id,
    midnight,
)
from spotify_sandbox.ads_requests import BadRequest, moment
from spotify_sandbox.routing import SandboxResponse

if t.TYPE_CHECKING:
    from collections.abc import Callable

# AsyncReportMetric and AsyncReportDimension of the v3 specification (kept here on purpose:
# the sandbox imports nothing of the tap).
ASYNC_METRICS = frozenset({
    "IMPRESSIONS_ON_SPOTIFY", "IMPRESSIONS_OFF_SPOTIFY", "SPEND", "CLICKS", "REACH",
    "FREQUENCY", "LISTENERS", "NEW_LISTENERS", "STREAMS", "AD_COMPLETES", "CTR", "CPM",
    "COMPLETION_RATE",
})
DIMENSION_LEVEL = {
    "AD_ACCOUNT_NAME": "AD_ACCOUNT", "AD_ACCOUNT_CURRENCY": "AD_ACCOUNT",
    "CAMPAIGN_NAME": "CAMPAIGN", "CAMPAIGN_STATUS": "CAMPAIGN", "CAMPAIGN_OBJECTIVE": "CAMPAIGN",
    "AD_SET_NAME": "AD_SET", "AD_SET_STATUS": "AD_SET", "AD_SET_BUDGET": "AD_SET",
    "AD_SET_COST_MODEL": "AD_SET", "AD_NAME": "AD",
}
LEVELS = ("AD_ACCOUNT", "CAMPAIGN", "AD_SET", "AD")
STATUSES = ("ACTIVE", "PAUSED", "COMPLETED", "PENDING_APPROVAL", "REJECTED", "ARCHIVED")
MAX_SPAN = dt.timedelta(days=365)
FATES = ("FAILED", "EXPIRED", "URL_EXPIRED")


@dataclass
class AsyncJob:
    id: str
    account: str
    params: dict
    fate: str  # READY, FAILED, EXPIRED or URL_EXPIRED
    polls_left: int
    submitted_at: str
    urls: list[str] = field(default_factory=list)


class AsyncReports:
    """Async reports of one `AdsWorld` (see the module docstring)."""

    def __init__(self, world: AdsWorld, now: Callable[[], dt.datetime], *, polls: int = 1,
                 fates: tuple[str, ...] = (), url_ttl: float = 300.0) -> None:
        unknown = sorted(set(fates) - set(FATES))
        if unknown:
            msg = f"unknown async report fate(s): {', '.join(unknown)}"
            raise ValueError(msg)
        self.world = world
        self.now = now
        self.polls = polls
        self.fates = list(fates)
        self.url_ttl = url_ttl
        self.jobs: dict[str, AsyncJob] = {}
        self.created = 0
        self.downloads = 0
        self._tokens: dict[str, tuple[str, float]] = {}  # url token -> (job id, expires at)
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def create(self, account: str, body: t.Any) -> dict:
        params = _params(body)
        with self._lock:
            self.created += 1
            fate = self.fates.pop(0) if self.fates else "READY"
            job = AsyncJob(make_id("async", account, next(self._serial)), account, params,
                           fate, self.polls, iso(self.now()))
            self.jobs[job.id] = job
        return {"id": job.id}

    def status(self, account: str, report_id: str, files_base: str) -> dict:
        with self._lock:
            job = self.jobs.get(report_id)
            if job is None or job.account != account:
                raise BadRequest(f"async report {report_id} not found", "NOT_FOUND", 404)
            base = {"id": job.id, "status": "PROCESSING", "submitted_at": job.submitted_at,
                    "completed_at": None, "report_url": None}
            if job.polls_left > 0:
                job.polls_left -= 1
                return base
            if job.fate in {"FAILED", "EXPIRED"}:
                return {**base, "status": job.fate, "completed_at": iso(self.now())}
            token = make_id("url", job.id, len(job.urls))
            expired = job.fate == "URL_EXPIRED" and not job.urls
            job.urls.append(token)
            self._tokens[token] = (job.id, 0.0 if expired else time.monotonic() + self.url_ttl)
        return {**base, "status": "READY", "completed_at": iso(self.now()),
                "report_url": f"{files_base}/{token}?sig=sandbox"}

    def download(self, token: str) -> SandboxResponse:
        with self._lock:
            found = self._tokens.get(token)
            if found is None or found[1] < time.monotonic():
                body = b"<Error><Code>ExpiredToken</Code></Error>"
                return SandboxResponse(403, body, {"Content-Type": "application/xml"})
            job = self.jobs[found[0]]
            self.downloads += 1
        text = io.StringIO()
        writer = csv.writer(text)
        header, rows = self.table(job.account, job.params)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in header])
        return SandboxResponse(200, text.getvalue().encode(), {"Content-Type": "text/csv"})

    def table(self, account: str, params: dict) -> tuple[list[str], list[dict]]:
        """(CSV header, rows as {column: value}) of one report."""
        level = params["level"]
        ids = [f"{name}_ID" for name in LEVELS[:LEVELS.index(level) + 1]]
        header = [*ids, "START_TIME", "END_TIME", *params["dimensions"], *params["metrics"]]
        rows = []
        now = self.now()
        for entity in self.world.entities(account, level):
            chain, node = {}, entity
            while node is not None:
                chain[node.kind] = node
                node = node.parent
            campaign = chain.get("CAMPAIGN")
            status = campaign.status if campaign is not None else "ACTIVE"
            if status not in params["statuses"]:
                continue
            base = {f"{kind}_ID": chain[kind].id if kind in chain else account
                    for kind in LEVELS[:LEVELS.index(level) + 1]}
            base.update(self._dimensions(account, chain, params["dimensions"]))
            scale = 4000.0 * (1 + LEVELS.index("AD") - LEVELS.index(level))
            if params["granularity"] == "LIFETIME":
                start, end = midnight(entity.first_day), lifetime_end(entity, now)
                stats = self.world.stats(entity, "async:lifetime", params["metrics"], scale * 30)
                rows.append({**base, "START_TIME": iso(start), "END_TIME": iso(end),
                             **{s["field_type"]: s["field_value"] for s in stats}})
                continue
            for day in self.world.buckets(entity, "DAY", params["first"], params["last"], now):
                stats = self.world.stats(entity, f"async:{iso(day)}", params["metrics"], scale,
                                         open_=day >= now - RESTATED)
                rows.append({**base, "START_TIME": iso(day), "END_TIME": iso(day + DAY),
                             **{s["field_type"]: s["field_value"] for s in stats}})
        return header, rows

    def _dimensions(self, account: str, chain: dict, dimensions: list[str]) -> dict:
        out = {}
        info = self.world.account(account) or {}
        for dimension in dimensions:
            kind = DIMENSION_LEVEL[dimension]
            if kind == "AD_ACCOUNT":
                out[dimension] = info.get("currency_code" if dimension.endswith("CURRENCY")
                                          else "name")
            else:
                entity = chain.get(kind)
                attribute = dimension[len(kind) + 1:].lower()
                out[dimension] = getattr(entity, attribute, None) if attribute in {
                    "name", "status"} else None
        return out


def _params(body: t.Any) -> dict:
    """The checked body of a create call."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    granularity = body.get("granularity")
    if granularity not in {"DAY", "LIFETIME"}:
        raise BadRequest("granularity must be DAY or LIFETIME")
    dimensions = body.get("dimensions") or []
    metrics = body.get("metrics") or []
    if not isinstance(dimensions, list) or not all(d in DIMENSION_LEVEL for d in dimensions):
        raise BadRequest(f"unknown dimension(s) in {dimensions!r}")
    if not isinstance(metrics, list) or not metrics:
        raise BadRequest("metrics is required")
    unknown = [m for m in metrics if m not in ASYNC_METRICS]
    if unknown:
        raise BadRequest(f"unknown metric(s): {', '.join(map(str, unknown))}")
    statuses = body.get("statuses") or ["ACTIVE"]  # the API's own default
    if not all(s in STATUSES for s in statuses):
        raise BadRequest(f"unknown status(es) in {statuses!r}")
    level = max((DIMENSION_LEVEL[d] for d in dimensions), key=LEVELS.index,
                default="AD_ACCOUNT")
    first = last = None
    if granularity == "DAY":
        start, end = body.get("report_start"), body.get("report_end")
        if not isinstance(start, str) or not isinstance(end, str):
            raise BadRequest("report_start and report_end are required for DAY")
        first, last = moment(start), moment(end)
        if first.hour or last.hour or last < first or last - first > MAX_SPAN:
            raise BadRequest("DAY reports need UTC midnights at most 365 days apart")
    return {"granularity": granularity, "dimensions": list(dimensions),
            "metrics": list(dict.fromkeys(metrics)), "statuses": list(statuses),
            "level": level, "first": first, "last": last}
