"""The parameters of the sandbox's Ads report calls (api-contract §6), checked as the v3
API checks them: `aggregate_params` and `insight_params` answer every broken rule with a
`BadRequest`; continuation tokens carry the parameters and offset of the next page."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from spotify_sandbox.ads_data import (
    ENTITY_TYPES,
    INSIGHT_ENTITY_TYPES,
    INSIGHT_VALUES,
    TOTALS_ENTITY_TYPES,
    TOTALS_FIELDS,
)
from spotify_sandbox.ads_fields import API_FIELDS, INSIGHT_REFUSED
from spotify_sandbox.ads_requests import BadRequest, Query, integer, moment, one, report_fields
from spotify_sandbox.ads_truth import HOUR_HISTORY

MAX_DAY_SPAN = dt.timedelta(days=90)
# Continuation tokens carry '+', '/' and '=' on purpose: the client must URL-encode them.
TOKEN_PREFIX = "ct+"  # noqa: S105 (not a secret)
TOKEN_SUFFIX = "/="  # noqa: S105
AGGREGATE_PARAMS = frozenset({"entity_type", "fields", "granularity", "report_start",
                              "report_end", "include_parent_entity", "limit",
                              "continuation_token"})
INSIGHT_PARAMS = frozenset({"insight_dimension", "fields", "entity_ids", "entity_ids_type",
                            "granularity"})


def refuse_unknown(query: Query, allowed: frozenset[str]) -> None:
    """400 naming every parameter a report endpoint does not take."""
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")


def aggregate_params(query: Query, now: dt.datetime,  # noqa: PLR0912
                     known: frozenset[str] = API_FIELDS) -> dict:
    """The checked parameters of a first aggregate-report page (HOUR rules at `now`;
    `known` report fields)."""
    refuse_unknown(query, AGGREGATE_PARAMS)
    entity_type = one(query, "entity_type")
    if entity_type not in ENTITY_TYPES:
        raise BadRequest(f"entity_type must be one of {', '.join(ENTITY_TYPES)}, "
                         f"got {entity_type!r}")
    fields = report_fields(query, known)
    granularity = one(query, "granularity") or "LIFETIME"
    if granularity not in {"LIFETIME", "DAY", "HOUR"}:
        raise BadRequest(f"unknown granularity {granularity!r}")
    limit = integer(query, "limit", 50, 1, 50)
    parent_text = (one(query, "include_parent_entity") or "false").lower()
    if parent_text not in {"true", "false"}:
        raise BadRequest("include_parent_entity must be true or false")
    parent = parent_text == "true"
    if parent and entity_type not in {"AD", "AD_SET"}:
        raise BadRequest("include_parent_entity is only valid for AD and AD_SET")
    start_text, end_text = one(query, "report_start"), one(query, "report_end")
    start = moment(start_text) if start_text else None
    end = moment(end_text) if end_text else None
    for when, name in ((start, "report_start"), (end, "report_end")):
        if when is not None and (when.minute or when.second):
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
        current = now.replace(minute=0, second=0, microsecond=0)
        if start < current - HOUR_HISTORY or end > current:
            raise BadRequest("HOUR reports must lie within the last 14 days")
    if granularity == "LIFETIME":
        start_text = end_text = None  # lifetime totals: the range is not used here
    return {"entity_type": entity_type, "fields": fields, "granularity": granularity,
            "limit": limit, "include_parent_entity": parent,
            "report_start": start_text, "report_end": end_text}


def insight_params(query: Query,
                   known: frozenset[str] = API_FIELDS) -> tuple[str, list[str], str, str]:
    """(insight dimension, fields, entity type, entity id) of an insight-report call."""
    refuse_unknown(query, INSIGHT_PARAMS)
    dimension = one(query, "insight_dimension")
    if dimension not in INSIGHT_VALUES:
        raise BadRequest(f"unsupported insight_dimension {dimension!r}")
    if (one(query, "granularity") or "LIFETIME") != "LIFETIME":
        raise BadRequest("insight reports are LIFETIME only")
    fields = report_fields(query, known)
    refused = [f for f in fields if f in INSIGHT_REFUSED]
    if refused:
        raise BadRequest(f"field(s) not allowed in insight reports: {', '.join(refused)}")
    ids = query.get("entity_ids") or []
    if len(ids) != 1:
        raise BadRequest("insight reports take exactly one entity id")
    entity_type = one(query, "entity_ids_type")
    if entity_type not in INSIGHT_ENTITY_TYPES:
        raise BadRequest(f"entity_ids_type must be one of {', '.join(INSIGHT_ENTITY_TYPES)}")
    return dimension, fields, entity_type, ids[0]


TOTALS_PARAMS = frozenset({"entity_type", "entity_ids", "granularity", "report_start",
                           "report_end", "fields"})


def totals_params(query: Query) -> dict:
    """The checked parameters of an aggregate_reports/totals call."""
    refuse_unknown(query, TOTALS_PARAMS)
    entity_type = one(query, "entity_type")
    if entity_type not in TOTALS_ENTITY_TYPES:
        raise BadRequest(f"entity_type must be one of {', '.join(TOTALS_ENTITY_TYPES)}")
    ids = list(dict.fromkeys(query.get("entity_ids") or []))
    if not 1 <= len(ids) <= 50:
        raise BadRequest("entity_ids takes 1 to 50 ids")
    fields = report_fields(query, frozenset(TOTALS_FIELDS))
    granularity = one(query, "granularity")
    if granularity not in {"LIFETIME", "DAY"}:
        raise BadRequest("granularity must be LIFETIME or DAY")
    start_text, end_text = one(query, "report_start"), one(query, "report_end")
    start = moment(start_text) if start_text else None
    end = moment(end_text) if end_text else None
    if granularity == "DAY":
        if start is None or end is None:
            raise BadRequest("report_start and report_end are required for DAY")
        if start.hour or end.hour or start.minute or end.minute:
            raise BadRequest("DAY totals need UTC midnight report_start and report_end")
        if end < start or end - start > MAX_DAY_SPAN:
            raise BadRequest("report_start and report_end must be within 90 days")
    return {"entity_type": entity_type, "entity_ids": ids, "fields": fields,
            "granularity": granularity, "first": start, "last": end}


def encode_token(state: dict) -> str:
    """The continuation token of `state` (account, parameters, next offset)."""
    text = base64.b64encode(json.dumps(state, sort_keys=True).encode()).decode()
    return f"{TOKEN_PREFIX}{text}{TOKEN_SUFFIX}"


def decode_token(token: str, account_id: str) -> dict:
    """The state a continuation token carries; it must belong to `account_id`."""
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
