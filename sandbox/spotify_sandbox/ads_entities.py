"""The sandbox's Ads entity lists (api-contract §6): the objects the v3 list endpoints return, their
offset paging and sorting, and the ground truth of the tap's entity streams.

Objects carry the fields of the published v3 response schemas (BusinessResponse,
AdAccountResponse, CampaignResponse, AdSetResponse, AdResponse) plus one key each schema
does not declare, so that a client which keeps unknown keys is put to the test.
`updated_at` is a pure function of the seed until a test `touch`es an entity.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from spotify_sandbox.ads_data import DAY, AdsWorld, Entity, iso, midnight, unit
from spotify_sandbox.tally import Tally

if t.TYPE_CHECKING:
    from collections.abc import Iterable

LIST_KINDS = {"campaigns": "CAMPAIGN", "ad_sets": "AD_SET", "ads": "AD"}
# Sort fields each list endpoint accepts (v3 CampaignSortField, AdSetSortField, AdSortField).
SORT_FIELDS = {
    "campaigns": ("ID", "NAME", "CREATED_AT", "UPDATED_AT", "STATUS"),
    "ad_sets": ("CREATED_AT", "UPDATED_AT", "NAME", "STATUS", "BUDGET", "START_DATE_TIME",
                "END_DATE_TIME"),
    "ads": ("CREATED_AT", "ID", "NAME", "STATUS", "UPDATED_AT"),
}
_SORT_KEYS = {"ID": "id", "NAME": "name", "CREATED_AT": "created_at",
              "UPDATED_AT": "updated_at", "STATUS": "status", "START_DATE_TIME": "start_time",
              "END_DATE_TIME": "end_time"}
# Per entity stream: the fields a record's fingerprint covers (key first).
TALLY_FIELDS: dict[str, tuple[str, ...]] = {
    "businesses": ("id", "name", "type", "status", "updated_at"),
    "ad_accounts": ("id", "ad_account_id", "business_id", "name", "currency_code",
                    "updated_at"),
    "campaigns": ("id", "ad_account_id", "name", "status", "objective", "updated_at"),
    "ad_sets": ("id", "ad_account_id", "campaign_id", "name", "status", "start_time",
                "end_time", "updated_at"),
    "ads": ("id", "ad_account_id", "ad_set_id", "campaign_id", "name", "status", "updated_at"),
}
ENTITY_STREAMS = tuple(TALLY_FIELDS)


class EntityLists:
    """List objects of an `AdsWorld`, with `touch` to model an edit made in Ad Studio."""

    def __init__(self, world: AdsWorld) -> None:
        self.world = world
        self.touched: dict[str, dt.datetime] = {}

    def touch(self, entity_id: str, when: dt.datetime) -> None:
        """Record an edit of `entity_id` at `when`: its `updated_at` becomes `when`."""
        self.touched[entity_id] = when

    def _stamps(self, entity_id: str, created: dt.datetime) -> dict[str, str]:
        hours = 1 + int(unit(self.world.seed, entity_id, "updated") * 60)
        updated = self.touched.get(entity_id, created + dt.timedelta(hours=hours))
        return {"created_at": iso(created), "updated_at": iso(updated)}

    def _created(self, entity: Entity) -> dt.datetime:
        minutes = int(unit(self.world.seed, entity.id, "created") * 600)
        return entity.created_at + dt.timedelta(minutes=minutes)

    # ---- objects ---------------------------------------------------------------------

    def business(self, business: dict) -> dict:
        index = self.world.businesses.index(business)
        created = midnight(self.world.today) - dt.timedelta(days=900 + 30 * index)
        return {**business, **self._stamps(business["id"], created)}

    def businesses(self) -> list[dict]:
        return [self.business(b) for b in self.world.businesses]

    def account(self, account_id: str) -> dict | None:
        base = self.world.account(account_id)
        if base is None:
            return None
        index = self.world.account_ids.index(account_id)
        created = midnight(self.world.today) - dt.timedelta(days=800 + 10 * index)
        return {**base, **self._stamps(account_id, created), "country_code": "US",
                "industry": "ENTERTAINMENT", "ad_account_role": "AD_ACCOUNT_ADMIN",
                "billing_address": {"country": "US", "postal_code": "10001"}}

    def _currency(self, entity: Entity) -> str:
        return str(self.world.account(entity.account_id)["currency_code"])

    def item(self, entity: Entity) -> dict:
        """The list object of a campaign, ad set or ad."""
        base = {"id": entity.id, "name": entity.name, "status": entity.status,
                **self._stamps(entity.id, self._created(entity))}
        flight = {"start_time": iso(midnight(entity.first_day)),
                  "end_time": iso(midnight(entity.last_day + DAY))}
        u = unit(self.world.seed, entity.id, "budget")
        if entity.kind == "CAMPAIGN":
            return {**base, "objective": ("REACH", "CLICKS", "PODCAST_STREAMS")[int(u * 3)],
                    "purchase_order": f"PO-{entity.id[:8]}",
                    "delivery_goal_group": "AWARENESS", "derived_status": "RUNNING"}
        if entity.kind == "AD_SET":
            assert entity.parent is not None
            return {**base, **flight, "campaign_id": entity.parent.id, "delivery": "ON",
                    "category": "ADV_1_1", "cost_model": "CPM", "asset_format": "AUDIO",
                    "bid_strategy": "MAX_BID", "bid_micro_amount": 10_000_000,
                    "pacing": "PACING_EVEN", "is_paused": False,
                    "budget": {"micro_amount": 1_000_000 * (50 + int(u * 950)),
                               "type": "DAILY", "currency": self._currency(entity)},
                    "frequency_caps": [{"frequency_unit": "DAY", "frequency_period": 1,
                                        "max_impressions": 2}],
                    "targets": {"age_ranges": [{"min": 18, "max": 65}],
                                "geo_targets": {"country_code": "US"},
                                "platforms": ["IOS", "ANDROID"]}}
        assert entity.parent is not None and entity.parent.parent is not None
        return {**base, **flight, "ad_set_id": entity.parent.id,
                "campaign_id": entity.parent.parent.id, "ad_account_id": entity.account_id,
                "delivery": "ON", "tagline": "Listen now", "advertiser_name": "Sandbox Co",
                "call_to_action": {"key": "LISTEN_NOW", "clickthrough_url":
                                   "https://example.com/listen"},
                "assets": {"asset_id": f"asset-{entity.id[:8]}"},
                "third_party_tracking": [], "external_id": f"ext-{entity.id[:6]}"}

    # ---- listing ---------------------------------------------------------------------

    def listing(self, account_id: str, kind: str, sort_field: str, direction: str) -> list[dict]:
        """Every object of one list, in the asked order (ties broken by id)."""
        items = [self.item(e) for e in self.world.entities(account_id, LIST_KINDS[kind])]
        if sort_field == "BUDGET":
            items.sort(key=lambda i: i["id"])
            items.sort(key=lambda i: i["budget"]["micro_amount"], reverse=direction == "DESC")
        else:
            key = _SORT_KEYS[sort_field]
            items.sort(key=lambda i: (i[key], i["id"]), reverse=direction == "DESC")
        return items

    # ---- ground truth ----------------------------------------------------------------

    def records(self, stream: str, account_ids: list[str] | None = None) -> list[dict]:
        """The records a correct tap emits for `stream` over `account_ids` (None: every
        account, ALL_ACCOUNTS; then every business too, else the accounts' owners)."""
        if stream == "businesses":
            if account_ids is None:
                return self.businesses()
            owners = {self.world.account(a)["business_id"] for a in account_ids}
            return [b for b in self.businesses() if b["id"] in owners]
        account_ids = self.world.account_ids if account_ids is None else account_ids
        if stream == "ad_accounts":
            return [{**self.account(a), "ad_account_id": a} for a in account_ids]
        kind = LIST_KINDS[stream]
        return [{**self.item(e), "ad_account_id": a}
                for a in account_ids for e in self.world.entities(a, kind)]

    def truth(self, streams: Iterable[str], account_ids: list[str] | None = None,
              updated_since: str | None = None) -> dict[str, dict]:
        """{stream: Tally.summary()}; with `updated_since` (ISO time) the incremental
        streams hold only entities updated at or after it."""
        out = {}
        for stream in streams:
            records = self.records(stream, account_ids)
            if updated_since and stream in LIST_KINDS:
                records = [r for r in records if r["updated_at"] >= updated_since]
            out[stream] = Tally(TALLY_FIELDS[stream]).add_all(records).summary()
        return out
