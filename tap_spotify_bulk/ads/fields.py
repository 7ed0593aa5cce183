"""The Ads API v3 report fields the tap knows: the one declaration the settings metadata,
the docs (docs/api-contract.md §5.3) and the tests follow (the sandbox keeps its own copy,
which a test compares with this one).

The list is open: a field name the tap does not know is passed to the API as it is and its
column typed as a number, so a metric Spotify adds needs no release of the tap. The API's
refusal of a name becomes one clear line (`reports.refused`).
"""

from __future__ import annotations

import re

E_CPM = "E_CPM"  # not a v3 field: computed as SPEND / IMPRESSIONS * 1000

# ReportFieldType of Spotify's Ads API v3 OpenAPI specification (external-v3.yaml).
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
KNOWN_FIELDS = API_FIELDS | {E_CPM}
# `x-deprecated-enums` of ReportFieldType, less E_CPM (the tap computes it from SPEND and
# IMPRESSIONS): still served, but they may go. E_CPC is no longer in the enum at all.
DEPRECATED_FIELDS = frozenset({
    "E_CPC", "INTENT_RATE", "PAID_LISTENS", "PAID_LISTENS_FREQUENCY", "PAID_LISTENS_REACH",
    "SKIPS",
})
# Refused by insight_reports (api-contract §6); E_CPM needs SPEND, so it is refused there too.
INSIGHT_REFUSED_FIELDS = frozenset({
    "SPEND", "FREQUENCY", "STARTS", "SKIPS", "E_CPCL", "OFF_SPOTIFY_IMPRESSIONS",
    "PAID_LISTENS_FREQUENCY", "UNMUTES", E_CPM,
})
# AsyncReportMetric: the metrics of async CSV reports (a list of their own).
ASYNC_METRICS = frozenset({
    "IMPRESSIONS_ON_SPOTIFY", "IMPRESSIONS_OFF_SPOTIFY", "SPEND", "CLICKS", "REACH",
    "FREQUENCY", "LISTENERS", "NEW_LISTENERS", "STREAMS", "AD_COMPLETES", "CTR", "CPM",
    "COMPLETION_RATE",
})
FIELD_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")  # the shape of every v3 enum value


def describe() -> str:
    """The settings metadata's description of a report object's `fields`."""
    return ("Ads API v3 report fields, and E_CPM (computed). Known: "
            f"{', '.join(sorted(KNOWN_FIELDS))}. Any other name is passed to the API and "
            f"typed as a number. Deprecated by Spotify (a warning): "
            f"{', '.join(sorted(DEPRECATED_FIELDS))}.")
