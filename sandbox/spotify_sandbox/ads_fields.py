"""The Ads API v3 report fields the sandbox serves (api-contract §6), kept here on purpose.

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
