"""Fields of the Ads API v3 list objects (SPEC §6) and the records they become.

The typed columns are the properties of the published v3 response schemas
(`external-v3.yaml`: BusinessResponse, AdAccountResponse, CampaignResponse, AdSetResponse,
AdResponse) plus the documented `fields` choices a list returns by default (campaign
`delivery`; ad `ad_account_id`, `campaign_id`, `asset_format`). Any other key, and a value
of an unexpected type, is kept in the `extra` object column, so nothing is dropped.
"""

from __future__ import annotations

import logging
import typing as t

from singer_sdk import typing as th

from tap_spotify_bulk.ads.windows import iso, parse_time

LOGGER = logging.getLogger("tap_spotify_bulk.ads")

# Column kinds: s string, t date-time, i integer, b boolean, o object, a array.
_COMMON = {"id": "s", "name": "s", "status": "s", "created_at": "t", "updated_at": "t"}
FIELDS: dict[str, dict[str, str]] = {
    "businesses": {**_COMMON, "type": "s"},
    "ad_accounts": {**_COMMON, "business_id": "s", "country_code": "s", "industry": "s",
                    "website": "s", "billing_address": "o", "legal_entity_name": "s",
                    "status_reason": "s", "ad_account_role": "s", "tax_id": "s",
                    "currency_code": "s"},
    "campaigns": {**_COMMON, "purchase_order": "s", "objective": "s",
                  "delivery_goal_group": "s", "delivery": "s"},
    "ad_sets": {**_COMMON, "campaign_id": "s", "start_time": "t", "end_time": "t",
                "frequency_caps": "a", "bid_micro_amount": "i", "base_rate_micro_amount": "i",
                "cost_modifiers": "a", "delivery": "s", "dataset_id": "s",
                "video_delivery_formats": "a", "category": "s", "cost_model": "s",
                "asset_format": "s", "budget": "o", "promotion": "o", "bid_strategy": "s",
                "reject_reason": "s", "reject_reasons": "a", "targets": "o", "pacing": "s",
                "mobile_app_id": "s", "delivery_goal": "s", "is_paused": "b",
                "pause_reason": "s", "slot_positions": "a", "skad_enabled": "b"},
    "ads": {**_COMMON, "ad_set_id": "s", "campaign_id": "s", "start_time": "t",
            "end_time": "t", "delivery": "s", "call_to_action": "o", "reject_reason": "s",
            "reject_reasons": "a", "ad_preview_url": "s", "advertiser_name": "s",
            "assets": "o", "tagline": "s", "third_party_tracking": "a", "catalog": "o",
            "asset_format": "s"},
}
_SCHEMA_TYPES = {"s": th.StringType, "t": th.DateTimeType, "i": th.IntegerType,
                 "b": th.BooleanType, "o": th.ObjectType(), "a": th.ArrayType(th.AnyType())}
_PY_TYPES: dict[str, tuple[type, ...]] = {"s": (str,), "t": (str,), "i": (int,),
                                          "b": (bool,), "o": (dict,), "a": (list,)}


def schema(stream: str) -> dict:
    """JSON schema of an entity stream: typed fields, `ad_account_id` and `extra`."""
    properties = [th.Property("id", th.StringType, required=True)]
    if stream != "businesses":
        properties.append(th.Property("ad_account_id", th.StringType, required=True))
    properties += [th.Property(name, _SCHEMA_TYPES[kind])
                   for name, kind in FIELDS[stream].items() if name != "id"]
    properties.append(th.Property("extra", th.ObjectType()))
    return th.PropertiesList(*properties).to_dict()


def _typed(kind: str, value: t.Any) -> tuple[bool, t.Any]:
    """(fits, column value) for one API value."""
    if value is None:
        return True, None
    if kind == "i" and isinstance(value, bool):
        return False, None
    if not isinstance(value, _PY_TYPES[kind]):
        return False, None
    if kind == "t":
        try:
            return True, iso(parse_time(value))
        except ValueError:
            return False, None
    return True, value


def record(stream: str, item: dict, account: str | None, warned: set[str]) -> dict:
    """The output record of one list object; `account` is its ad account (None for
    businesses). A key of an unexpected type is emitted as null, its raw value in `extra`."""
    fields = FIELDS[stream]
    out: dict[str, t.Any] = dict.fromkeys(fields)
    extra: dict[str, t.Any] = {}
    for key, value in item.items():
        kind = fields.get(key)
        if key == "ad_account_id" and value == account:
            continue  # the record's own column, set below
        if kind is None:
            extra[key] = value
            continue
        fits, out[key] = _typed(kind, value)
        if not fits:
            extra[key] = value
            if key not in warned:
                warned.add(key)
                LOGGER.warning("Ads %s: field %r has an unexpected value type (%s); emitted "
                               "as null, raw value kept in `extra`.",
                               stream, key, type(value).__name__)
    out["id"] = str(item["id"])
    if account is not None:
        out["ad_account_id"] = account
    out["extra"] = extra or None
    return out
