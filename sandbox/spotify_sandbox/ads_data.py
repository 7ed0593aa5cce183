"""The sandbox's Ads world: businesses, ad accounts, campaigns, ad sets, ads and their stats.

Everything is a pure function of the seed: entity ids, names and flights come from the
seed and the entity's position; a stat value is a function of (seed, entity, time bucket,
field). Nothing is stored per day or hour, so any range costs only what it returns.

Rules the report rows follow (api-contract §6): an entity has a DAY (or HOUR) row for every bucket
of the asked range that lies in its flight and has started before `now`, zero delivery
included; some buckets deliver nothing (all stats 0); now and then a requested field is
absent from `stats`; conversion counts below 5 (and above 0) read -5. Setting `version`
restates the last 14 days (and lifetime/insight totals) as late attribution would.

Late attribution on command: `credit_late_conversions(day, now)` credits more conversions and
revenue to a past day of every ad that has a conversion pixel (and of the ad sets, campaigns
and accounts above them), as Spotify does up to about 30 days after the day: that day's DAY
and HOUR rows and the lifetime and insight totals of those entities grow; nothing else moves.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from functools import cached_property

ENTITY_TYPES = ("AD_ACCOUNT", "CAMPAIGN", "AD_SET", "AD")
INSIGHT_VALUES: dict[str, tuple[str, ...]] = {
    "AGE": ("18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    "COUNTRY": ("US", "GB", "DE", "SE", "BR", "MX"),
    "GENDER": ("FEMALE", "MALE", "NON_BINARY", "UNKNOWN"),
    "GENRE": ("pop", "hip_hop", "rock", "electronic", "latin", "indie"),
    "PLATFORM": ("ANDROID", "IOS", "DESKTOP", "WEB", "CONNECTED_DEVICE"),
    "ACT_AND_SET": ("Artist A / Set 1", "Artist B / Set 2", "Artist C / Set 3"),
    "AUDIENCE": ("Lookalike 1", "Retargeting", "Custom list 7"),
    "CITY": ("Stockholm", "New York", "São Paulo", "Tokyo", "Lagos"),
    "FORMAT": ("AUDIO", "VIDEO", "IMAGE"),
    "INTERESTS": ("Fitness", "Gaming", "Travel", "Food & Drink"),
    "METRO": ("501", "803", "602"),
    "PLACEMENT": ("MUSIC", "PODCAST", "OTHER"),
    "PODCAST_EPISODE_TOPIC": ("Comedy", "True Crime", "News", "Sports"),
    "REGION": ("US-CA", "US-NY", "SE-AB", "GB-ENG"),
    "TONE": ("POSITIVE", "NEUTRAL", "SERIOUS"),
}
INSIGHT_ENTITY_TYPES = ("AD_SET", "CAMPAIGN")  # insight `entity_ids_type` values
# The ad accounts' currencies, in account order (then again): amounts of accounts in
# different currencies must never be added up.
CURRENCIES = ("USD", "SEK", "JPY", "EUR")
INSUFFICIENT_CODES = (
    "ILLEGAL.INSIGHT_REPORT.INSUFFICIENT_IMPRESSIONS",
    "ILLEGAL.INSIGHT_REPORT.INSUFFICIENT_REACH",
    "ILLEGAL.INSIGHT_REPORT.INSUFFICIENT_LISTENERS",
)
CONVERSION_FIELDS = frozenset({
    "PAGE_VIEWS", "LEADS", "ADD_TO_CART", "PURCHASES", "START_CHECKOUT", "PRODUCTS",
    "SIGN_UPS", "CUSTOM_EVENT_1", "CUSTOM_EVENT_2", "CUSTOM_EVENT_3", "CUSTOM_EVENT_4",
    "CUSTOM_EVENT_5",
})
MONEY_FIELDS = frozenset({
    "SPEND", "E_CPCL", "REVENUE", "AVERAGE_ORDER_VALUE", "CUSTOMER_ACQUISITION_COST",
    "COST_PER_LEAD",
})
# What a late conversion adds to (counts and revenue) and what is derived from them.
CREDITED_FIELDS = CONVERSION_FIELDS | {"REVENUE"}
DERIVED_FIELDS = frozenset({
    "AVERAGE_ORDER_VALUE", "RETURN_ON_AD_SPEND", "CUSTOMER_ACQUISITION_COST", "COST_PER_LEAD",
    "CONVERSION_RATE",
})
RATE_FIELDS = frozenset({
    "COMPLETION_RATE", "CONVERSION_RATE", "CTR", "FREQUENCY", "INTENT_RATE",
    "NEW_LISTENER_CONVERSION_RATE", "PAID_LISTENS_FREQUENCY", "STREAMS_PER_NEW_LISTENER",
    "STREAMS_PER_USER", "VIDEO_EXPAND_RATE", "RETURN_ON_AD_SPEND",
})
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
RESTATED = dt.timedelta(days=14)  # streaming metrics stay open this long (api-contract §6)
# Impressions per DAY bucket at full delivery, by entity level (an HOUR gets 1/24).
DELIVERY_SCALE = {"AD": 4000, "AD_SET": 9000, "CAMPAIGN": 20000, "AD_ACCOUNT": 60000}
INSIGHT_SCALE = {"AD_SET": 20000, "CAMPAIGN": 45000}  # impressions per insight value
# Keys report rows carry that api-contract §6 does not declare (a client keeps them in `extra`).
ROW_NOTES = ("pacing_status", "sample_size", "deduplicated")


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts`."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def make_id(*parts: object) -> str:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Entity:
    """A campaign, ad set, ad, or an ad account seen as a report entity."""

    kind: str
    id: str
    name: str
    status: str
    account_id: str
    parent: Entity | None
    first_day: dt.date  # flight, inclusive
    last_day: dt.date
    created_at: dt.datetime
    silent: bool = False  # never delivers (every stat 0)

    def ref(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status}


@dataclass(frozen=True)
class AdsWorldOptions:
    """What the Ads world holds. Every knob is also an `AdsApi` option."""

    n_businesses: int = 2
    accounts_per_business: int = 1
    shared_account: bool = True  # the first account is listed under two businesses
    campaigns_per_account: int = 3
    ad_sets_per_campaign: int = 2
    ads_per_ad_set: int = 2
    history_days: int = 730  # campaigns start within this many days before `today`
    insufficient_rate: float = 0.25  # ad sets whose insight reports answer 422
    absent_rate: float = 0.03  # (entity, bucket, field) stats left out of `stats`
    zero_day_rate: float = 0.08  # buckets without delivery
    # > 0: every campaign flies from `flight_days` days before `today` to 30 days after, so
    # each entity has a row for every day of a report range within that span (size tests).
    flight_days: int = 0
    pixel_rate: float = 0.5  # ads that carry a conversion pixel (late credits go to them)


class AdsWorld:
    """The generated Ads data of one seed, anchored at `today`."""

    def __init__(self, seed: int, today: dt.date, options: AdsWorldOptions) -> None:
        self.seed = seed
        self.today = today
        self.options = options
        # Bumping `version` restates every value of the last RESTATED days (and lifetime and
        # insight totals), as Spotify does while attribution is still open.
        self.version = 0
        # Late conversion credits per day (see `credit_late_conversions`).
        self.late_credits: collections.Counter[dt.date] = collections.Counter()

    # ---- structure -------------------------------------------------------------------

    @cached_property
    def businesses(self) -> list[dict]:
        return [{"id": make_id(self.seed, "business", b), "name": f"Business {b + 1}",
                 "type": "ADVERTISER", "status": "ACTIVE"}
                for b in range(self.options.n_businesses)]

    @cached_property
    def account_ids(self) -> list[str]:
        """Distinct ad account ids, in business order."""
        per = self.options.accounts_per_business
        return [make_id(self.seed, "account", b, a)
                for b in range(self.options.n_businesses) for a in range(per)]

    def business_accounts(self, business_id: str) -> list[dict] | None:
        index = next((i for i, b in enumerate(self.businesses) if b["id"] == business_id), None)
        if index is None:
            return None
        per = self.options.accounts_per_business
        ids = self.account_ids[index * per:(index + 1) * per]
        if self.options.shared_account and index == 1 and self.account_ids:
            ids = [self.account_ids[0], *ids]
        return [self.account(i) for i in ids]

    def account(self, account_id: str) -> dict | None:
        if account_id not in self.account_ids:
            return None
        index = self.account_ids.index(account_id)
        per = max(self.options.accounts_per_business, 1)
        return {"id": account_id, "name": f"Ad Account {index + 1}",
                "business_id": self.businesses[index // per]["id"],
                "currency_code": CURRENCIES[index % len(CURRENCIES)], "status": "ACTIVE"}

    @cached_property
    def _entities(self) -> dict[tuple[str, str], list[Entity]]:
        table: dict[tuple[str, str], list[Entity]] = {}
        for account_id in self.account_ids:
            campaigns, ad_sets, ads = [], [], []
            for c in range(self.options.campaigns_per_account):
                campaign = self._campaign(account_id, c)
                campaigns.append(campaign)
                for s in range(self.options.ad_sets_per_campaign):
                    ad_set = self._child("AD_SET", campaign, s)
                    ad_sets.append(ad_set)
                    ads += [self._child("AD", ad_set, a)
                            for a in range(self.options.ads_per_ad_set)]
            first = min((c.first_day for c in campaigns), default=self.today)
            last = max((c.last_day for c in campaigns), default=self.today)
            created = min((c.created_at for c in campaigns), default=midnight(first))
            name = self.account(account_id)["name"]
            table[account_id, "AD_ACCOUNT"] = [Entity("AD_ACCOUNT", account_id, name, "ACTIVE",
                                                      account_id, None, first, last, created)]
            table[account_id, "CAMPAIGN"] = campaigns
            table[account_id, "AD_SET"] = ad_sets
            table[account_id, "AD"] = ads
        return table

    def _campaign(self, account_id: str, index: int) -> Entity:
        entity_id = make_id(self.seed, "campaign", account_id, index)
        if self.options.flight_days > 0:
            first = self.today - dt.timedelta(days=self.options.flight_days)
            length = self.options.flight_days + 31
        elif index == 0:  # one campaign per account always runs around today
            first = self.today - dt.timedelta(days=40)
            length = 70
        else:
            first = self.today - dt.timedelta(
                days=1 + int(unit(self.seed, entity_id, "start") * self.options.history_days))
            length = 7 + int(unit(self.seed, entity_id, "length") * 113)
        last = first + dt.timedelta(days=length - 1)
        status = "ACTIVE" if first <= self.today <= last else (
            "PAUSED" if last > self.today else "ARCHIVED")
        created = midnight(first) - dt.timedelta(days=3) + dt.timedelta(hours=10)
        return Entity("CAMPAIGN", entity_id, f"Campaign {index + 1}", status, account_id, None,
                      first, last, created)

    def _child(self, kind: str, parent: Entity, index: int) -> Entity:
        entity_id = make_id(self.seed, kind, parent.id, index)
        active = parent.first_day <= self.today <= parent.last_day
        status = ("ACTIVE" if active else "COMPLETED") if kind == "AD_SET" else "APPROVED"
        silent = parent.silent or unit(self.seed, entity_id, "silent") < 0.1
        label = "Ad Set" if kind == "AD_SET" else "Ad"
        return Entity(kind, entity_id, f"{parent.name} / {label} {index + 1}", status,
                      parent.account_id, parent, parent.first_day, parent.last_day,
                      parent.created_at, silent)

    def entities(self, account_id: str, kind: str) -> list[Entity]:
        return self._entities.get((account_id, kind), [])

    def find(self, account_id: str, kind: str, entity_id: str) -> Entity | None:
        return next((e for e in self.entities(account_id, kind) if e.id == entity_id), None)

    # ---- conversion pixels and late attribution --------------------------------------

    @cached_property
    def pixel_entity_ids(self) -> frozenset[str]:
        """Ads with a conversion pixel, and every ad set, campaign and account above one."""
        ids: set[str] = set()
        for (_, kind), entities in self._entities.items():
            if kind != "AD":
                continue
            for ad in entities:
                if unit(self.seed, ad.id, "pixel") < self.options.pixel_rate:
                    node: Entity | None = ad
                    while node is not None:
                        ids.add(node.id)
                        node = node.parent
                    ids.add(ad.account_id)
        return frozenset(ids)

    def has_pixel(self, entity: Entity) -> bool:
        return entity.id in self.pixel_entity_ids

    def credit_late_conversions(self, day: dt.date, now: dt.datetime) -> list[str]:
        """Credit more conversions and revenue to `day` (before `now`'s day) for every ad
        with a pixel; returns the ids of those that delivered on it (their rows change).
        Each call credits more."""
        if day >= now.date():
            msg = f"late conversions go to a past day; {day} is not before {now.date()}"
            raise ValueError(msg)
        self.late_credits[day] += 1
        moment = midnight(day)
        open_ = moment >= now - RESTATED
        return [ad.id for account_id in self.account_ids
                for ad in self.entities(account_id, "AD")
                if self.has_pixel(ad) and ad.first_day <= day <= ad.last_day
                and self._impressions(ad, iso(moment), DELIVERY_SCALE["AD"], open_=open_) > 0]

    def credits(self, entity: Entity, first: dt.date, last: dt.date) -> int:
        """Late credits of `entity` on the days first..last (0 without a pixel)."""
        if not self.late_credits or not self.has_pixel(entity):
            return 0
        return sum(n for day, n in self.late_credits.items() if first <= day <= last)

    # ---- report rows -----------------------------------------------------------------

    def buckets(self, entity: Entity, granularity: str, first: dt.datetime,
                last: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
        """Bucket starts in [first, last] (inclusive) within the flight and before `now`."""
        step = DAY if granularity == "DAY" else HOUR
        lo = max(first, midnight(entity.first_day))
        hi = min(last, midnight(entity.last_day + DAY) - step, now - dt.timedelta(microseconds=1))
        out = []
        moment = lo
        while moment <= hi:
            out.append(moment)
            moment += step
        return out

    def _impressions(self, entity: Entity, bucket: str, scale: float, *, open_: bool) -> int:
        if open_ and self.version:
            bucket = f"{bucket}#v{self.version}"
        level = unit(self.seed, entity.id, bucket)
        zero = entity.silent or level < self.options.zero_day_rate
        return 0 if zero else int(scale * (0.2 + 0.8 * level))

    def stats(self, entity: Entity, bucket: str, fields: list[str], scale: float,
              *, open_: bool = True, credits: int = 0) -> list[dict]:
        """`stats` of one entity in one bucket (`bucket` names it: an ISO time, lifetime,
        or an insight value). `scale` is impressions at full delivery; `open_` buckets
        take the current `version` into account; `credits` late conversion credits add
        conversions and revenue (and move what is derived from them)."""
        impressions = self._impressions(entity, bucket, scale, open_=open_)
        if open_ and self.version:
            bucket = f"{bucket}#v{self.version}"
        out = []
        for field in fields:
            if unit(self.seed, entity.id, bucket, field, "absent") < self.options.absent_rate:
                continue
            u = unit(self.seed, entity.id, bucket, field)
            if credits and impressions and field in CREDITED_FIELDS:
                value = self._credited(field, impressions, u, [
                    unit(self.seed, entity.id, bucket, field, "late", k)
                    for k in range(credits)])
            else:
                if credits and field in DERIVED_FIELDS:
                    u = unit(self.seed, entity.id, bucket, field, "late", credits)
                value = self._value(field, impressions, u)
            out.append({"field_type": field, "field_value": value})
        return out

    @staticmethod
    def _credited(field: str, impressions: int, u: float, late: list[float]) -> float | int:
        """A conversion count or revenue with late credits: more than without them."""
        if field == "REVENUE":
            base = impressions * (2.0 + 10.0 * u) / 1000.0
            return round(base + sum(impressions * (1.0 + 4.0 * v) / 1000.0 for v in late), 6)
        count = int(impressions * u * 0.004) + sum(1 + int(impressions * v * 0.001)
                                                   for v in late)
        return -5 if 0 < count < 5 else count

    @staticmethod
    def _value(field: str, impressions: int, u: float) -> float | int:
        if field == "IMPRESSIONS":
            return impressions
        if impressions == 0:
            return 0
        if field in MONEY_FIELDS:
            return round(impressions * (2.0 + 10.0 * u) / 1000.0, 6)
        if field in RATE_FIELDS:
            return round(0.01 + 2.0 * u, 6)
        if field in CONVERSION_FIELDS:
            count = int(impressions * u * 0.004)
            return -5 if 0 < count < 5 else count
        return int(impressions * (0.05 + 0.6 * u))

    def report_rows(self, account_id: str, kind: str, granularity: str, fields: list[str],
                    *, first: dt.datetime | None, last: dt.datetime | None, now: dt.datetime,
                    parent: bool, select: slice | None = None) -> list[list[dict]]:
        """Aggregate report rows grouped per entity, in entity order (only the entities
        `select`s, when given: one page costs what it returns)."""
        scale = DELIVERY_SCALE[kind]
        grouped = []
        for entity in self.entities(account_id, kind)[select or slice(None)]:
            base = {"entity_type": kind, "entity_id": entity.id, "entity_name": entity.name,
                    "entity_status": entity.status}
            if parent and entity.parent is not None:
                base["parent_entity"] = entity.parent.ref()
            if unit(self.seed, entity.id, "pacing note") < 0.3:
                base["pacing_status"] = "UNDER_PACING"
            if granularity == "LIFETIME":
                flight_end = lifetime_end(entity, now)
                credits = self.credits(entity, entity.first_day, entity.last_day)
                grouped.append([{**base, "start_time": iso(midnight(entity.first_day)),
                                 "end_time": iso(flight_end),
                                 "stats": self.stats(entity, "lifetime", fields, scale * 30,
                                                     credits=credits)}])
                continue
            assert first is not None and last is not None
            step = DAY if granularity == "DAY" else HOUR
            rows = []
            for moment in self.buckets(entity, granularity, first, last, now):
                bucket_scale = scale if granularity == "DAY" else scale / 24
                day = moment.date()
                rows.append({**base, "start_time": iso(moment), "end_time": iso(moment + step),
                             "stats": self.stats(entity, iso(moment), fields, bucket_scale,
                                                 open_=moment >= now - RESTATED,
                                                 credits=self.credits(entity, day, day))})
            grouped.append(rows)
        return grouped

    def insufficient_code(self, entity: Entity) -> str | None:
        """The 422 code an ad set's or campaign's insight reports answer, or None when it
        has data."""
        u = unit(self.seed, entity.id, "insufficient")
        if entity.silent or u < self.options.insufficient_rate:
            return INSUFFICIENT_CODES[int(unit(self.seed, entity.id, "code") * 3)]
        return None

    def insight_rows(self, entity: Entity, dimension: str, fields: list[str]) -> list[dict]:
        scale = INSIGHT_SCALE[entity.kind]
        credits = self.credits(entity, entity.first_day, entity.last_day)
        rows = [{"id": entity.id, "name": entity.name, "status": entity.status,
                 "insight_value": value,
                 "stats": self.stats(entity, f"insight:{dimension}:{value}", fields, scale,
                                     credits=credits)}
                for value in INSIGHT_VALUES[dimension]]
        for row in rows:
            if unit(self.seed, entity.id, dimension, row["insight_value"], "note") < 0.3:
                row["sample_size"] = "SMALL"
        return rows


def lifetime_end(entity: Entity, now: dt.datetime) -> dt.datetime:
    """`end_time` of a LIFETIME row: the end of the flight, or of today (UTC) while the
    flight runs; a function of the day, not of the second a report is asked."""
    return min(midnight(entity.last_day + DAY), midnight(now.astimezone(dt.UTC).date() + DAY))


TOTALS_FIELDS = ("IMPRESSIONS", "CLICKS", "CTR", "REACH", "FREQUENCY")
TOTALS_ENTITY_TYPES = ("CAMPAIGN", "AD_SET", "AD")


def totals_rows(world: AdsWorld, entities: list[Entity], granularity: str, fields: list[str],
                *, first: dt.datetime | None, last: dt.datetime | None,
                now: dt.datetime) -> list[dict]:
    """aggregate_reports/totals rows over `entities` (api-contract §6): impressions and
    clicks add up, reach is deduplicated (a seeded share of the per-entity reach, as
    listeners reached by several entities count once), frequency and CTR follow from them.
    LIFETIME: one row; DAY: one row per day in [first, last] on which any entity flies."""
    if not entities:
        return []
    kind = entities[0].kind
    group = ",".join(sorted(e.id for e in entities))
    measured = ["IMPRESSIONS", "CLICKS", "REACH"]
    if granularity == "LIFETIME":
        parts = [world.stats(e, "lifetime", measured, DELIVERY_SCALE[kind] * 30)
                 for e in entities]
        return [{"stats": _totals_stats(world, group, "lifetime", parts, fields),
                 "deduplicated": True}]
    assert first is not None and last is not None
    by_day: dict[dt.datetime, list[list[dict]]] = {}
    for entity in entities:
        for moment in world.buckets(entity, "DAY", first, last, now):
            by_day.setdefault(moment, []).append(world.stats(
                entity, iso(moment), measured, DELIVERY_SCALE[kind],
                open_=moment >= now - RESTATED))
    return [{"start_time": iso(moment), "end_time": iso(moment + DAY),
             "stats": _totals_stats(world, group, iso(moment), parts, fields),
             "deduplicated": True}
            for moment, parts in sorted(by_day.items())]


def _totals_stats(world: AdsWorld, group: str, bucket: str, parts: list[list[dict]],
                  fields: list[str]) -> list[dict]:
    sums = {"IMPRESSIONS": 0.0, "CLICKS": 0.0, "REACH": 0.0}
    for stats in parts:
        for stat in stats:
            sums[stat["field_type"]] += stat["field_value"]
    share = 0.55 + 0.4 * unit(world.seed, group, bucket, "overlap") if len(parts) > 1 else 1.0
    reach = int(sums["REACH"] * share)
    values = {"IMPRESSIONS": int(sums["IMPRESSIONS"]), "CLICKS": int(sums["CLICKS"]),
              "REACH": reach,
              "FREQUENCY": round(sums["IMPRESSIONS"] / reach, 6) if reach else 0,
              "CTR": round(sums["CLICKS"] / sums["IMPRESSIONS"], 6) if sums["IMPRESSIONS"]
              else 0}
    return [{"field_type": field, "field_value": values[field]} for field in fields]
