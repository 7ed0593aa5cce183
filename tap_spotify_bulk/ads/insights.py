"""Insight reports of one ad account (api-contract §5.3, §6): one call per ad set or
campaign (`entity_ids_type`), and when to ask again after "not enough data".

Spotify answers an insight report with a 422 INSUFFICIENT_* code until an entity has
delivered enough. Such an entity is asked again at most once per UTC day, and no longer
once `GIVE_UP_AFTER` has passed since its end: its data will not grow any more. The day of
each entity's last "not enough data" answer is kept in the account's state
(`INSUFFICIENT_KEY`), so the rule holds across runs; an entry that does not parse is
ignored (the entity is asked, which costs one request, never data).
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

from tap_spotify_bulk.ads import listing, reports
from tap_spotify_bulk.ads.times import parse_time

if t.TYPE_CHECKING:
    from collections.abc import Iterator, MutableMapping

    from tap_spotify_bulk.ads.client import AdsClient
    from tap_spotify_bulk.ads.settings import ReportSpec

LOGGER = logging.getLogger("tap_spotify_bulk.ads")

INSUFFICIENT_KEY = "insufficient_data"  # partition state: {entity id: "YYYY-MM-DD"}
GIVE_UP_AFTER = dt.timedelta(days=14)


def _day(value: t.Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _end_day(entity: dict) -> dt.date | None:
    """The day an entity's flight ends (`end_time`, exclusive), None when open-ended."""
    value = entity.get("end_time")
    try:
        return parse_time(value).date() if isinstance(value, str) and value else None
    except ValueError:
        return None


class InsufficientLog:
    """The "not enough data" answers of one account's insight table (see the module)."""

    def __init__(self, state: MutableMapping[str, t.Any], today: dt.date) -> None:
        saved = state.get(INSUFFICIENT_KEY)
        self.last = {str(k): _day(v) for k, v in saved.items()} if isinstance(
            saved, dict) else {}
        self.today = today
        self.kept: dict[str, str] = {}  # the next state: entities still without data

    def should_ask(self, entity: dict) -> bool:
        entity_id = str(entity["id"])
        last = self.last.get(entity_id)
        if last is None:
            return True
        end = _end_day(entity)
        asked_today = last >= self.today
        given_up = end is not None and self.today > end + GIVE_UP_AFTER
        if asked_today or given_up:
            self.kept[entity_id] = last.isoformat()
            return False
        return True

    def answered(self, entity_id: str, *, insufficient: bool) -> None:
        if insufficient:
            self.kept[entity_id] = self.today.isoformat()


def insight_records(client: AdsClient, account: str, spec: ReportSpec,
                    state: MutableMapping[str, t.Any], today: dt.date) -> Iterator[dict]:
    """Every insight record of `account`, each (entity, insight value) once; updates
    `state[INSUFFICIENT_KEY]` when done."""
    log = InsufficientLog(state, today)
    done: set[str] = set()  # a listing whose pages overlap names an entity twice
    skipped = 0
    for entity in listing.listing(client, account, listing.LISTS[spec.entity_ids_type]):
        entity_id = str(entity.get("id") or "")
        if not entity_id or entity_id in done:
            continue
        done.add(entity_id)
        if not log.should_ask(entity):
            skipped += 1
            continue
        rows = reports.insight_rows(client, account, spec, entity_id)
        log.answered(entity_id, insufficient=rows is None)
        values: set[t.Any] = set()
        for row in rows or ():
            record = reports.insight_record(spec, account, entity, row)
            if record["insight_value"] not in values:
                values.add(record["insight_value"])
                yield record
    if skipped:
        LOGGER.info("Ads %s (%s): %d entit(ies) without enough data not asked again today "
                    "or ended over %d days ago", spec.table, account, skipped,
                    GIVE_UP_AFTER.days)
    state[INSUFFICIENT_KEY] = log.kept
