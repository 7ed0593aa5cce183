"""Every field of the sandbox's Ads list objects (api-contract §6), from the seed alone.

One set of values per entity gives two forms:

* `ListObject.wire`: what a list endpoint sends. Every property of the published v3
  response schema (`ads_fields.ENTITY_FIELDS`) is there on some entity: budgets, bids,
  flights, nested objects and arrays, booleans. Some values are null or left out; times are
  spelled in several ISO-8601 ways that name the same instant (`Z`, `+00:00`, milliseconds,
  other offsets); every object carries keys the schema does not declare; and some carry a
  declared key whose value has an unexpected type (a bid as a string, a budget as a list,
  a start time that is not a time).
* `ListObject.record`: what a correct client emits for it: every declared column (null when
  null, left out or of an unexpected type), times as `YYYY-MM-DDTHH:MM:SSZ` (the API's own
  spelling), and `extra` holding the undeclared keys and the unexpected values, raw (null
  when there are none).

Which entity gets what depends on its position in its list: the first one carries every
field with a value; the next ones carry, in turn, each unexpected value of their stream;
after that, nulls, gaps and unexpected values come by chance (fixed by the seed).
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from spotify_sandbox.ads_data import make_id, unit
from spotify_sandbox.ads_fields import ENTITY_FIELDS

# Columns other sandbox answers and the tap depend on (keys, names, the replication key,
# the currency of reports, the insight give-up day): never null, never of another type.
STEADY = frozenset({"id", "name", "status", "updated_at", "business_id", "currency_code",
                    "campaign_id", "ad_set_id", "end_time", "budget"})
NULL_RATE = 0.2  # other columns null (or left out) by chance
ODD_RATE = 0.25  # entities past the first few with an unexpected value
# Per stream: (declared key, a value of an unexpected type for it).
ODD_VALUES: dict[str, tuple[tuple[str, t.Any], ...]] = {
    "businesses": (("type", 3), ("created_at", "last spring")),
    "ad_accounts": (("billing_address", "Sveavägen 44, 111 34 Stockholm"),
                    ("country_code", 752), ("created_at", 1718000000)),
    "campaigns": (("purchase_order", 4411), ("objective", ["REACH"]),
                  ("created_at", "2026-13-45T99:00:00Z")),
    "ad_sets": (("bid_micro_amount", "12500000"), ("is_paused", "false"),
                ("budget", [{"micro_amount": 5_000_000, "type": "DAILY"}]),
                ("start_time", "ASAP"), ("bid_micro_amount", True),
                ("frequency_caps", {"frequency_unit": "DAY", "max_impressions": 3}),
                ("base_rate_micro_amount", 1_500_000.5), ("skad_enabled", 1)),
    "ads": (("start_time", "when the ad set starts"), ("call_to_action", "LISTEN_NOW"),
            ("third_party_tracking", {"url": "https://tracker.example.com/p"}),
            ("tagline", 42), ("assets", ["asset-1"])),
}
# Spellings of one instant: strftime pattern and the UTC offset it is written in.
SPELLINGS = (("%Y-%m-%dT%H:%M:%SZ", 0), ("%Y-%m-%dT%H:%M:%SZ", 0),
             ("%Y-%m-%dT%H:%M:%S+00:00", 0), ("%Y-%m-%dT%H:%M:%S.000Z", 0),
             ("%Y-%m-%dT%H:%M:%S+02:00", 2), ("%Y-%m-%dT%H:%M:%S-05:00", -5))


@dataclass(frozen=True)
class ListObject:
    values: dict[str, t.Any]  # every declared field's value (None: null or left out)
    wire: dict[str, t.Any]
    record: dict[str, t.Any]  # without `ad_account_id`


class Draw:
    """Deterministic choices for one entity of one seed."""

    def __init__(self, seed: int, entity_id: str) -> None:
        self.seed, self.entity_id = seed, entity_id

    def unit(self, *what: object) -> float:
        return unit(self.seed, self.entity_id, *what)

    def pick(self, what: str, choices: t.Sequence[t.Any]) -> t.Any:
        return choices[int(self.unit(what) * len(choices))]

    def number(self, what: str, low: int, high: int) -> int:
        return low + int(self.unit(what) * (high - low + 1))

    def uuid(self, what: str) -> str:
        return make_id(self.seed, self.entity_id, what)


def build(stream: str, draw: Draw, position: int, values: dict[str, t.Any],
          unknown: dict[str, t.Any], *, own: dict[str, t.Any] | None = None) -> ListObject:
    """The object of the entity at `position` of its list, from its `values` (one per
    declared field), the undeclared keys it carries and `own`: keys sent that are the
    record's own columns (an ad's `ad_account_id`)."""
    declared = ENTITY_FIELDS[stream]
    assert set(values) == set(declared), stream
    if position > 0:
        values = {k: None if k not in STEADY and draw.unit(k, "null") < NULL_RATE else v
                  for k, v in values.items()}
    odd = _odd_value(stream, draw, position)
    wire: dict[str, t.Any] = {}
    for key, value in values.items():
        if odd and key == odd[0]:
            wire[key] = odd[1]
        elif value is None:
            if draw.unit(key, "absent") >= 0.5:  # else left out
                wire[key] = None
        else:
            wire[key] = _respelled(draw, key, value) if declared[key] == "t" else value
    wire.update(unknown)
    wire.update(own or {})
    record = {k: None if odd and k == odd[0] else v for k, v in values.items()}
    extra = {**unknown, **dict([odd] if odd else [])}
    record["extra"] = extra or None
    return ListObject(values, wire, record)


def _odd_value(stream: str, draw: Draw, position: int) -> tuple[str, t.Any] | None:
    choices = ODD_VALUES[stream]
    if 1 <= position <= len(choices):
        return choices[position - 1]
    if position > len(choices) and draw.unit("odd") < ODD_RATE:
        return draw.pick("odd value", choices)
    return None


def _respelled(draw: Draw, key: str, value: str) -> str:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    pattern, hours = draw.pick(f"{key} spelling", SPELLINGS)
    return (moment + dt.timedelta(hours=hours)).strftime(pattern)


# ---- values per stream -----------------------------------------------------------------


def business_values(draw: Draw, base: dict, stamps: dict) -> dict[str, t.Any]:
    return {**base, **stamps, "type": draw.pick("type", (
        "ADVERTISER", "AGENCY", "MUSIC_ARTIST_CONCERT_PROMOTER", "PODCAST_PROMOTER"))}


def business_unknown(draw: Draw) -> dict[str, t.Any]:
    zone = draw.pick("timezone", ("Europe/Stockholm", "America/New_York", None))
    return {"timezone": zone} if draw.unit("timezone sent") < 0.8 else {}


def account_values(draw: Draw, base: dict, stamps: dict, number: int) -> dict[str, t.Any]:
    country = draw.pick("country", ("US", "SE", "GB", "DE", "BR"))
    return {
        **base, **stamps, "country_code": country,
        "industry": draw.pick("industry", ("ENTERTAINMENT", "RETAIL", "TECHNOLOGY")),
        "website": f"https://advertiser-{number}.example.com",
        "billing_address": {"name": f"Advertiser {number}",
                            "street": f"{draw.number('street', 1, 200)} Main Street",
                            "city": draw.pick("city", ("Stockholm", "New York", "Berlin")),
                            "postal_code": f"{draw.number('postal', 10000, 99999)}",
                            "tax_region": country},
        "legal_entity_name": f"Sandbox Advertiser {number} AB",
        "status_reason": draw.pick("status reason", ("VERIFIED", "PENDING_REVIEW")),
        "ad_account_role": draw.pick("role", ("AD_ACCOUNT_ADMIN", "AD_ACCOUNT_CONTRIBUTOR",
                                              "AD_ACCOUNT_VIEWER")),
        "tax_id": f"{country}{draw.number('tax id', 10**9, 10**10 - 1)}",
    }


def account_unknown(draw: Draw, currency: str) -> dict[str, t.Any]:
    cap = {"micro_amount": 1_000_000 * draw.number("cap", 1000, 90000), "currency": currency}
    return {"spend_cap": cap, "payment_terms": draw.pick("terms", ("NET30", "PREPAID"))}


def campaign_values(draw: Draw, base: dict) -> dict[str, t.Any]:
    return {
        **base, "purchase_order": f"PO-{draw.entity_id[:8]}",
        "objective": draw.pick("objective", ("REACH", "CLICKS", "PODCAST_STREAMS",
                                             "EVEN_IMPRESSION_DELIVERY", "VIDEO_VIEWS")),
        "delivery_goal_group": draw.pick("goal group", ("AWARENESS", "WEBSITE_TRAFFIC",
                                                        "ENGAGEMENT_ON_SPOTIFY")),
        "delivery": draw.pick("delivery", ("ON", "ON", "OFF")),
    }


def campaign_unknown(draw: Draw) -> dict[str, t.Any]:
    return {"derived_status": draw.pick("derived", ("RUNNING", "SCHEDULED", "COMPLETED"))}


def ad_set_values(draw: Draw, base: dict, currency: str, full: bool) -> dict[str, t.Any]:
    paused = full or draw.unit("paused") < 0.2
    video = draw.unit("format") < 0.3
    caps = [{"frequency_unit": unit_, "frequency_period": 1,
             "max_impressions": draw.number(f"cap {unit_}", 1, 5)}
            for unit_ in ("DAY", "WEEK", "MONTH")[:draw.number("caps", 1, 3)]]
    return {
        **base, "frequency_caps": caps,
        "bid_micro_amount": 100_000 * draw.number("bid", 20, 400),
        "base_rate_micro_amount": 100_000 * draw.number("base rate", 10, 200),
        "cost_modifiers": [{"id": draw.uuid("modifier"), "name": "Premium Placement",
                            "rate": draw.pick("rate", (1.1, 1.25, 1.5))}]
        if full or draw.unit("modifiers") < 0.5 else [],
        "delivery": draw.pick("delivery", ("ON", "ON", "OFF")),
        "dataset_id": draw.uuid("dataset"),
        "video_delivery_formats": ["IN_STREAM", "OPT_IN"] if video else [],
        "category": f"ADV_{draw.number('category', 1, 20)}_{draw.number('sub', 1, 9)}",
        "cost_model": draw.pick("cost model", ("CPM", "CPCL")),
        "asset_format": "VIDEO" if video else draw.pick("asset", ("AUDIO", "IMAGE")),
        "budget": {"micro_amount": 1_000_000 * (50 + int(draw.unit("budget") * 950)),
                   "type": draw.pick("budget type", ("DAILY", "LIFETIME")),
                   "currency": currency},
        "promotion": {"promotion_goal": draw.pick("promo", ("ARTIST_FOLLOWERS", "PODCAST")),
                      "promotion_target_id": f"spotify:artist:{draw.entity_id[:22]}",
                      "conversion_events": [{"tracking_event_type": "IMPRESSION",
                                             "window_duration_ms": 86_400_000}]},
        "bid_strategy": draw.pick("bid strategy", ("MAX_BID", "AUTOBID", "COST_PER_RESULT")),
        "reject_reason": "Audio quality below standards (since fixed)",
        "reject_reasons": [{"reason": "AUDIO_QUALITY", "remediation": "Upload a new file"}],
        "targets": {"age_ranges": [{"min": draw.number("age min", 18, 30),
                                    "max": draw.number("age max", 35, 65)}],
                    "geo_targets": {"country_code": draw.pick("geo", ("US", "SE", "GB"))},
                    "platforms": ["IOS", "ANDROID", "DESKTOP"][:draw.number("platforms", 1, 3)],
                    "genre_ids": [] if draw.unit("genres") < 0.5 else ["pop", "indie"]},
        "pacing": draw.pick("pacing", ("PACING_EVEN", "PACING_ASAP")),
        "mobile_app_id": draw.uuid("app"),
        "delivery_goal": draw.pick("goal", ("IMPRESSIONS", "REACH", "CLICKS", "STREAMS")),
        "is_paused": paused,
        "pause_reason": draw.pick("pause", ("USER_PAUSED", "ACCOUNT_GREYLISTED"))
        if paused else None,
        "slot_positions": ["PRE_ROLL", "MID_ROLL", "POST_ROLL"][:draw.number("slots", 1, 3)],
        "skad_enabled": full or draw.unit("skad") < 0.5,
    }


def ad_set_unknown(draw: Draw) -> dict[str, t.Any]:
    return {"learning_phase": draw.pick("learning", ("LEARNING", "COMPLETE", None))}


def ad_values(draw: Draw, base: dict) -> dict[str, t.Any]:
    return {
        **base, "delivery": draw.pick("delivery", ("ON", "ON", "OFF")),
        "call_to_action": {"key": draw.pick("cta", ("LISTEN_NOW", "LEARN_MORE", "SHOP_NOW")),
                           "text": "Listen now", "language": "en",
                           "clickthrough_url": f"https://example.com/{draw.entity_id[:8]}"},
        "reject_reason": "Landing page unreachable (since fixed)",
        "reject_reasons": [{"reason": "LANDING_PAGE", "remediation": "Check the URL"}],
        "ad_preview_url": f"https://adstudio.example.com/preview/{draw.entity_id}",
        "advertiser_name": f"Sandbox Co {draw.number('advertiser', 1, 9)}",
        "assets": {"asset_id": draw.uuid("asset"), "companion_asset_id": draw.uuid("image"),
                   "logo_asset_id": draw.uuid("logo")},
        "tagline": draw.pick("tagline", ("Listen now", "New episode out", "Tickets on sale")),
        "third_party_tracking": [{"measurement_partner": "IAS",
                                  "url": f"https://ias.example.com/{draw.entity_id[:8]}"}],
        "catalog": {"id": draw.uuid("catalog"), "name": "Holiday Deals",
                    "catalog_items": [{"id": draw.uuid("item"), "price_micro_amount":
                                       1_000_000 * draw.number("price", 5, 90)}]},
        "asset_format": draw.pick("asset", ("AUDIO", "VIDEO", "IMAGE")),
    }


def ad_unknown(draw: Draw) -> dict[str, t.Any]:
    return {"external_id": f"ext-{draw.entity_id[:6]}"}
