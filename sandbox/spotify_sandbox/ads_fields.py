"""The Ads API v3 report fields and list-object fields the sandbox serves (api-contract §6),
kept here on purpose.

The sandbox decides what is true, so it owns its own copy of the API's lists instead of
sharing the tap's: a mistake in the tap's lists then shows up as a test failure.
"""

from __future__ import annotations

# ReportFieldType values of the Ads API v3 (E_CPM is not one: the tap computes it).
API_FIELDS = frozenset({
    "CLICKS", "COMPLETES", "COMPLETION_RATE", "CONVERSION_RATE", "CTR", "E_CPCL",
    "FIRST_QUARTILES", "FREQUENCY", "IMPRESSIONS", "INTENT_RATE", "LISTENERS", "MIDPOINTS",
    "NEW_LISTENERS", "NEW_LISTENER_CONVERSION_RATE", "NEW_LISTENER_STREAMS",
    "OFF_SPOTIFY_IMPRESSIONS", "PAID_LISTENS", "PAID_LISTENS_FREQUENCY", "PAID_LISTENS_REACH",
    "REACH", "SKIPS", "SPEND", "STARTS", "STREAMS", "STREAMS_PER_NEW_LISTENER",
    "STREAMS_PER_USER", "THIRD_QUARTILES", "VIDEO_VIEWS", "VIDEO_EXPANDS", "VIDEO_EXPAND_RATE",
    "UNMUTES", "PAGE_VIEWS", "LEADS", "ADD_TO_CART", "PURCHASES", "REVENUE",
    "AVERAGE_ORDER_VALUE", "RETURN_ON_AD_SPEND", "CUSTOMER_ACQUISITION_COST", "COST_PER_LEAD",
    "START_CHECKOUT", "PRODUCTS", "SIGN_UPS", "CUSTOM_EVENT_1", "CUSTOM_EVENT_2",
    "CUSTOM_EVENT_3", "CUSTOM_EVENT_4", "CUSTOM_EVENT_5", "STREAMED_IMPRESSIONS",
})
# Fields insight_reports answers 400 for.
INSIGHT_REFUSED = frozenset({
    "SPEND", "FREQUENCY", "STARTS", "SKIPS", "E_CPCL", "OFF_SPOTIFY_IMPRESSIONS",
    "PAID_LISTENS_FREQUENCY", "UNMUTES",
})

# Properties of the v3 list objects (BusinessResponse, AdAccountResponse, CampaignResponse,
# AdSetResponse, AdResponse), plus the documented `fields` choices a list returns by
# default (campaign `delivery`; ad `campaign_id`, `asset_format`), by JSON kind:
# s string, t date-time, i integer, b boolean, o object, a array.
_COMMON = {"id": "s", "name": "s", "status": "s", "created_at": "t", "updated_at": "t"}
ENTITY_FIELDS: dict[str, dict[str, str]] = {
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
