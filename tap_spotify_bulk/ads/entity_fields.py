"""Fields of the Ads API v3 list objects (api-contract §6) and the records they become.

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

from tap_spotify_bulk.ads.times import iso, parse_time

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
# Column descriptions, after the v3 response schemas' own.
DESCRIPTIONS: dict[str, str] = {
    "id": "Id of the entity (a UUID, unique across ad accounts).",
    "ad_account_id": "Ad account the entity belongs to (for an ad account: its own id).",
    "name": "Name of the entity.",
    "status": "Status of the entity (ACTIVE, PAUSED, ARCHIVED, ... by entity type).",
    "created_at": "When the entity was created (UTC).",
    "updated_at": "When the entity was last updated (UTC); the replication key of the "
                  "campaign, ad set and ad streams.",
    "type": "Type of the business (ADVERTISER, AGENCY, ...).",
    "business_id": "Business that owns the ad account.",
    "country_code": "Country or region of the ad account, ISO 3166 alpha-2.",
    "industry": "The ad account's listed industry.",
    "website": "Website associated with the ad account.",
    "billing_address": "Billing address of the ad account.",
    "legal_entity_name": "Legal name of the entity funding ads for the ad account.",
    "status_reason": "Reason for the status of the ad account.",
    "ad_account_role": "Role of the authorized user in the ad account.",
    "tax_id": "Tax id on record for the ad account.",
    "currency_code": "Billing currency of the ad account.",
    "purchase_order": "Purchase order number shown on invoices.",
    "objective": "Campaign objective (deprecated by the API in favour of delivery goals).",
    "delivery_goal_group": "Delivery goal group of the campaign.",
    "delivery": "Delivery toggle of the entity: ON or OFF.",
    "campaign_id": "Campaign the ad set (or ad) belongs to.",
    "ad_set_id": "Ad set the ad belongs to.",
    "start_time": "Start of the flight (UTC).",
    "end_time": "End of the flight (UTC).",
    "frequency_caps": "Maximum impressions per user over given periods.",
    "bid_micro_amount": "Bid per 1000 impressions in the billing currency, times 10^6.",
    "base_rate_micro_amount": "Base rate per 1000 impressions or actions, times 10^6.",
    "cost_modifiers": "Cost modifiers applied to the base rate.",
    "dataset_id": "Dataset attached to the ad set.",
    "video_delivery_formats": "Allowed delivery formats of video ads (IN_STREAM, OPT_IN).",
    "category": "Category id of the ad set (ADV_X_Y).",
    "cost_model": "How the advertiser is charged (CPM, CPCL).",
    "asset_format": "Format of the asset (AUDIO, VIDEO, IMAGE, CATALOG).",
    "budget": "Budget of the ad set (micro amount, type, currency).",
    "promotion": "Promotion of the ad set (artist or podcast promo, conversion events).",
    "bid_strategy": "How bids are applied in the auction.",
    "reject_reason": "Why the entity was rejected.",
    "reject_reasons": "Rejection and remediation details.",
    "targets": "Targeting of the ad set.",
    "pacing": "Pacing of delivery: PACING_EVEN or PACING_ASAP.",
    "mobile_app_id": "Mobile app tied to the ad set.",
    "delivery_goal": "Goal of the ad set.",
    "is_paused": "Whether the ad set is paused (by the user or a suspended account).",
    "pause_reason": "Why the ad set is paused, when it is.",
    "slot_positions": "Allowed slot positions of its ads (PRE_ROLL, MID_ROLL, POST_ROLL).",
    "skad_enabled": "Whether SKAd network tracking is on for the iOS app.",
    "call_to_action": "Call-to-action button of the ad.",
    "ad_preview_url": "Preview URL of the ad.",
    "advertiser_name": "Name of the advertiser shown in the ad.",
    "assets": "Assets of the ad.",
    "tagline": "Tagline of the ad.",
    "third_party_tracking": "Third-party tracking of the ad.",
    "catalog": "Catalog placed in a carousel ad.",
    "extra": "Keys of the API object that this schema does not know, and known keys whose "
             "value had an unexpected type (kept raw under the same name).",
}
STREAM_DESCRIPTIONS = {
    "businesses": "Ads businesses the token can see (with SPECIFIC_ACCOUNTS: the owners of "
                  "the listed ad accounts); a full snapshot each run.",
    "ad_accounts": "Ad accounts extracted (ALL_ACCOUNTS or SPECIFIC_ACCOUNTS); a full "
                   "snapshot each run.",
    "campaigns": "Ads campaigns per ad account, incremental on updated_at.",
    "ad_sets": "Ads ad sets per ad account, incremental on updated_at.",
    "ads": "Ads per ad account, incremental on updated_at.",
}
_SCHEMA_TYPES = {"s": th.StringType, "t": th.DateTimeType, "i": th.IntegerType,
                 "b": th.BooleanType, "o": th.ObjectType(), "a": th.ArrayType(th.AnyType())}
_PY_TYPES: dict[str, tuple[type, ...]] = {"s": (str,), "t": (str,), "i": (int,),
                                          "b": (bool,), "o": (dict,), "a": (list,)}


def schema(stream: str) -> dict:
    """JSON schema of an entity stream: typed fields, `ad_account_id` and `extra`."""
    text = DESCRIPTIONS
    properties = [th.Property("id", th.StringType, required=True, description=text["id"])]
    if stream != "businesses":
        properties.append(th.Property("ad_account_id", th.StringType, required=True,
                                      description=text["ad_account_id"]))
    properties += [th.Property(name, _SCHEMA_TYPES[kind], description=text[name])
                   for name, kind in FIELDS[stream].items() if name != "id"]
    properties.append(th.Property("extra", th.ObjectType(), description=text["extra"]))
    return {**th.PropertiesList(*properties).to_dict(),
            "description": STREAM_DESCRIPTIONS[stream]}


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
