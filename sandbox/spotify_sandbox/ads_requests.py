"""How the sandbox's Ads API reads a request and answers a bad one (api-contract §6):
the v3 error body, and query values checked one by one (`BadRequest` names the problem)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from spotify_sandbox.ads_fields import API_FIELDS
from spotify_sandbox.routing import SandboxResponse

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

Query = dict[str, list[str]]


class BadRequest(Exception):  # noqa: N818 (an answer, not a failure of ours)
    def __init__(self, message: str, code: str = "INVALID_ARGUMENT", status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


def error_body(status: int, message: str, code: str) -> SandboxResponse:
    body = {"sp_trace_id": str(uuid.uuid4()), "messages": [message],
            "error_codes": [{"code": code, "definition": message}]}
    return SandboxResponse(status, json.dumps(body).encode())


def one(query: Query, name: str) -> str | None:
    """The single value of `name`, None when absent; given twice is a bad request."""
    values = query.get(name) or []
    if len(values) > 1:
        raise BadRequest(f"{name} given more than once")
    return values[0] if values else None


def integer(query: Query, name: str, default: int, lo: int, hi: int) -> int:
    """`name` as an integer in [lo, hi], `default` when absent."""
    text = one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return value


def report_fields(query: Query, known: frozenset[str] = API_FIELDS) -> list[str]:
    """The repeated `fields` parameter: `known` field names, each once, in order."""
    fields = query.get("fields") or []
    if not fields:
        raise BadRequest("fields is required")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    return list(dict.fromkeys(fields))


def moment(text: str) -> dt.datetime:
    """A `YYYY-MM-DDTHH:MM:SSZ` report time."""
    if not _TIME.match(text):
        raise BadRequest(f"bad timestamp {text!r}: use YYYY-MM-DDTHH:MM:SSZ")
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise BadRequest(f"bad timestamp {text!r}") from None
