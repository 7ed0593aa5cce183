"""Bulk API paths (api-contract §4): listings, data-file lookups and their error answers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from spotify_sandbox.bulk_data import COUNTRY_REPORTS, REPORTS
from spotify_sandbox.routing import SandboxResponse

if TYPE_CHECKING:
    from spotify_sandbox.bulk_data import BulkData
    from spotify_sandbox.options import SandboxOptions

_SEGMENT = (re.compile(r"^\d{4}$"), re.compile(r"^\d{2}$"), re.compile(r"^\d{2}$"),
            re.compile(r"^[A-Z]{2}$"))


@dataclass(frozen=True)
class FileRef:
    """One data file: report, day and (for country reports) country."""

    report: str
    day: dt.date
    country: str | None
    path: str  # relative to the Bulk API base, e.g. "/gyrostream/enhanced/users/2024/03/07"
    generation: int = 0  # the day's generation when the file was looked up (restatements)

    @property
    def object_name(self) -> str:
        """The stored object behind a signed URL: path and generation, so a restated day's
        old signed URLs point at an object that no longer exists."""
        return f"{self.path}#{self.generation}"


def api_error(status: int, message: str) -> SandboxResponse:
    return SandboxResponse(status, orjson.dumps({"error": {"status": status, "message": message}}))


def not_found(what: str = "No data found") -> SandboxResponse:
    return api_error(404, what)


class BulkApi:
    def __init__(self, data: BulkData) -> None:
        self.data = data

    def published_days(self, options: SandboxOptions, report: str) -> list[dt.date]:
        days, day = [], self.data.start
        while day <= self.data.end:
            if options.is_published(day, report) and self.data.day(day) is not None:
                days.append(day)
            day += dt.timedelta(days=1)
        return days

    def route(self, path: str, options: SandboxOptions) -> SandboxResponse | FileRef:
        """Answer a GET on `path` (relative to the Bulk base): a listing, an error, or a file."""
        override = options.overrides.get(path.rstrip("/"))
        if override is None:
            return self._route(path, options)
        gzipped = override[:2] == b"\x1f\x8b"  # raw test content, served as is
        return SandboxResponse(200, override, content_type="application/octet-stream"
                               if gzipped else "application/json")

    def _route(self, path: str, options: SandboxOptions) -> SandboxResponse | FileRef:
        parts = [p for p in path.split("/") if p] or [""]
        if parts[0] != options.licensor:
            return api_error(403, f"Licensor {parts[0]!r} is not granted to this client")
        if len(parts) < 3 or parts[1] != "enhanced" or parts[2] not in REPORTS:
            return not_found("Unknown resource")
        report, rest = parts[2], parts[3:]
        depth_limit = 4 if report in COUNTRY_REPORTS else 3
        if len(rest) > depth_limit or any(not _SEGMENT[i].match(s) for i, s in enumerate(rest)):
            return not_found("Unknown resource")
        prefix = "/" + "/".join(parts[:3])
        days = self.published_days(options, report)
        if len(rest) == depth_limit:
            return self._file(prefix, report, rest, days)
        if len(rest) == 3:  # a day of a country report: its countries
            day = _date(rest)
            plan = self.data.day(day) if day in days else None
            children = [(c, c) for c in plan.countries] if plan else []
        else:
            keys = [(f"{d.year:04d}", f"{d.month:02d}", f"{d.day:02d}") for d in days]
            children = sorted({(k[len(rest)], k[len(rest)]) for k in keys
                               if list(k[: len(rest)]) == rest})
        if not children:
            return not_found("No data found for this period")
        base = "/".join([prefix, *rest])
        listing = [{"uri": f"{base}/{child}", "name": name} for child, name in children]
        return SandboxResponse(200, orjson.dumps(listing))

    def _file(self, prefix: str, report: str, rest: list[str],
              days: list[dt.date]) -> SandboxResponse | FileRef:
        day = _date(rest)
        country = rest[3] if report in COUNTRY_REPORTS else None
        if day is None or day not in days or not self.data.has_file(report, day, country):
            return not_found("No data found for this date")
        return FileRef(report, day, country, "/".join([prefix, *rest]),
                       self.data.generation(day))


def _date(rest: list[str]) -> dt.date | None:
    try:
        return dt.date(int(rest[0]), int(rest[1]), int(rest[2]))
    except ValueError:
        return None
