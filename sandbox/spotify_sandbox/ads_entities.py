"""The sandbox's Ads entity lists (api-contract §6): the objects the v3 list endpoints return, their
offset paging and sorting, and the ground truth of the tap's entity streams.

Objects carry every field of the published v3 response schemas (BusinessResponse,
AdAccountResponse, CampaignResponse, AdSetResponse, AdResponse), keys those schemas do not
declare, and now and then a declared key with a value of an unexpected type
(`ads_entity_objects`). The truth is the record a correct tap emits for each, every column
of it fingerprinted (`Tally.for_ads_entity_stream`). Everything is a pure function of the
seed until a test `touch`es an entity (its `updated_at` then moves).
"""

from __future__ import annotations

import datetime as dt
import typing as t

from spotify_sandbox import ads_entity_objects as objects
from spotify_sandbox.ads_data import DAY, AdsWorld, Entity, iso, midnight, unit
from spotify_sandbox.ads_entity_objects import Draw, ListObject
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
ENTITY_STREAMS = ("businesses", "ad_accounts", "campaigns", "ad_sets", "ads")


class EntityLists:
    """List objects of an `AdsWorld`, with `touch` to model an edit made in Ad Studio."""

    def __init__(self, world: AdsWorld) -> None:
        self.world = world
        self.touched: dict[str, dt.datetime] = {}
        self._built: dict[str, ListObject] = {}

    def touch(self, entity_id: str, when: dt.datetime) -> None:
        """Record an edit of `entity_id` at `when`: its `updated_at` becomes `when`."""
        self.touched[entity_id] = when
        self._built.pop(entity_id, None)

    def _stamps(self, entity_id: str, created: dt.datetime) -> dict[str, str]:
        hours = 1 + int(unit(self.world.seed, entity_id, "updated") * 60)
        updated = self.touched.get(entity_id, created + dt.timedelta(hours=hours))
        return {"created_at": iso(created), "updated_at": iso(updated)}

    def _created(self, entity: Entity) -> dt.datetime:
        minutes = int(unit(self.world.seed, entity.id, "created") * 600)
        return entity.created_at + dt.timedelta(minutes=minutes)

    # ---- objects (built once, again after a touch) -------------------------------------

    def _business(self, index: int) -> ListObject:
        base = self.world.businesses[index]
        if base["id"] not in self._built:
            created = midnight(self.world.today) - dt.timedelta(days=900 + 30 * index)
            draw = Draw(self.world.seed, base["id"])
            values = objects.business_values(draw, base, self._stamps(base["id"], created))
            self._built[base["id"]] = objects.build(
                "businesses", draw, index, values, objects.business_unknown(draw))
        return self._built[base["id"]]

    def _account(self, account_id: str) -> ListObject | None:
        base = self.world.account(account_id)
        if base is None:
            return None
        if account_id not in self._built:
            index = self.world.account_ids.index(account_id)
            created = midnight(self.world.today) - dt.timedelta(days=800 + 10 * index)
            draw = Draw(self.world.seed, account_id)
            values = objects.account_values(draw, base, self._stamps(account_id, created),
                                            index + 1)
            self._built[account_id] = objects.build(
                "ad_accounts", draw, index, values,
                objects.account_unknown(draw, base["currency_code"]))
        return self._built[account_id]

    def _item(self, entity: Entity, position: int) -> ListObject:
        """The object of a campaign, ad set or ad, `position` its place in its list."""
        if entity.id in self._built:
            return self._built[entity.id]
        draw = Draw(self.world.seed, entity.id)
        base = {"id": entity.id, "name": entity.name, "status": entity.status,
                **self._stamps(entity.id, self._created(entity))}
        flight = {"start_time": iso(midnight(entity.first_day)),
                  "end_time": iso(midnight(entity.last_day + DAY))}
        if entity.kind == "CAMPAIGN":
            built = objects.build("campaigns", draw, position,
                                  objects.campaign_values(draw, base),
                                  objects.campaign_unknown(draw))
        elif entity.kind == "AD_SET":
            assert entity.parent is not None
            currency = str(self.world.account(entity.account_id)["currency_code"])
            values = objects.ad_set_values(
                draw, {**base, **flight, "campaign_id": entity.parent.id}, currency,
                full=position == 0)
            built = objects.build("ad_sets", draw, position, values,
                                  objects.ad_set_unknown(draw))
        else:
            assert entity.parent is not None and entity.parent.parent is not None
            values = objects.ad_values(draw, {**base, **flight, "ad_set_id": entity.parent.id,
                                              "campaign_id": entity.parent.parent.id})
            built = objects.build("ads", draw, position, values, objects.ad_unknown(draw),
                                  own={"ad_account_id": entity.account_id})
        self._built[entity.id] = built
        return built

    def _items(self, account_id: str, kind: str) -> list[ListObject]:
        return [self._item(e, position) for position, e in
                enumerate(self.world.entities(account_id, LIST_KINDS[kind]))]

    # ---- what the endpoints send -----------------------------------------------------

    def businesses(self) -> list[dict]:
        return [self._business(i).wire for i in range(len(self.world.businesses))]

    def account(self, account_id: str) -> dict | None:
        built = self._account(account_id)
        return None if built is None else built.wire

    def listing(self, account_id: str, kind: str, sort_field: str, direction: str) -> list[dict]:
        """Every object of one list, in the asked order (ties broken by id); the order
        follows the values, not how an object spells or mangles them."""
        items = self._items(account_id, kind)
        if sort_field == "BUDGET":
            items.sort(key=lambda i: i.values["id"])
            items.sort(key=lambda i: i.values["budget"]["micro_amount"],
                       reverse=direction == "DESC")
        else:
            key = _SORT_KEYS[sort_field]
            items.sort(key=lambda i: (i.values[key] or "", i.values["id"]),
                       reverse=direction == "DESC")
        return [i.wire for i in items]

    # ---- ground truth ----------------------------------------------------------------

    def records(self, stream: str, account_ids: list[str] | None = None) -> list[dict]:
        """The records a correct tap emits for `stream` over `account_ids` (None: every
        account, ALL_ACCOUNTS; then every business too, else the accounts' owners)."""
        if stream == "businesses":
            every = [self._business(i).record for i in range(len(self.world.businesses))]
            if account_ids is None:
                return every
            owners = {self.world.account(a)["business_id"] for a in account_ids}
            return [b for b in every if b["id"] in owners]
        account_ids = self.world.account_ids if account_ids is None else account_ids
        if stream == "ad_accounts":
            return [{**self._account(a).record, "ad_account_id": a} for a in account_ids]
        return [{**i.record, "ad_account_id": a}
                for a in account_ids for i in self._items(a, stream)]

    def truth(self, streams: Iterable[str], account_ids: list[str] | None = None,
              updated_since: str | None = None) -> dict[str, dict]:
        """{stream: Tally.summary()}; with `updated_since` (`YYYY-MM-DDTHH:MM:SSZ`) the
        incremental streams hold only entities updated at or after it."""
        out = {}
        for stream in streams:
            records = self.records(stream, account_ids)
            if updated_since and stream in LIST_KINDS:
                records = [r for r in records if r["updated_at"] >= updated_since]
            out[stream] = Tally.for_ads_entity_stream(stream).add_all(records).summary()
        return out
