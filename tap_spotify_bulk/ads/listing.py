"""Offset-paged Ads API v3 lists (campaigns, ad sets, ads): one request per page of up to
50 items, never one per entity.

`newest_first` serves incremental entity streams: it asks for the list sorted by
`updated_at`, newest first, and stops at the first page that reaches items older than the
bookmark. That saving is only taken while the answers are seen to be sorted: a server that
ignores `sort_field` is read to the end and filtered here, which costs requests, not data.
"""

from __future__ import annotations

import logging
import typing as t

from tap_spotify_bulk.ads.times import iso, parse_time

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_spotify_bulk.ads.client import AdsClient

LOGGER = logging.getLogger("tap_spotify_bulk.ads")
PAGE_LIMIT = 50
LISTS = {"CAMPAIGN": "campaigns", "AD_SET": "ad_sets", "AD": "ads"}  # entity type -> list
NEWEST_FIRST = {"sort_field": "UPDATED_AT", "sort_direction": "DESC"}


def pages(client: AdsClient, account: str, kind: str,
          params: dict[str, str] | None = None) -> Iterator[list[dict]]:
    """Each page of `/ad_accounts/{account}/{kind}` in turn (its objects only)."""
    offset = 0
    while True:
        body = client.get_json(
            f"/ad_accounts/{account}/{kind}",
            {**(params or {}), "limit": PAGE_LIMIT, "offset": offset},
            what=f"Ads {kind} list of ad account {account}",
        )
        items = [item for item in body.get(kind) or [] if isinstance(item, dict)]
        yield items
        offset += len(items)
        total = (body.get("paging") or {}).get("total_results")
        if not items or (isinstance(total, int) and offset >= total):
            return


def listing(client: AdsClient, account: str, kind: str) -> Iterator[dict]:
    """Every item of one list, page after page."""
    for page in pages(client, account, kind):
        yield from page


def updated_at(item: dict) -> str | None:
    """`updated_at` as `YYYY-MM-DDTHH:MM:SSZ`, None when absent or not a time."""
    value = item.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        return iso(parse_time(value))
    except ValueError:
        return None


def newest_first(client: AdsClient, account: str, kind: str,
                 since: str | None) -> Iterator[dict]:
    """Items with an id, each id once (a page may repeat the end of the one before),
    updated at or after `since` (every item when None, or when it has no update time)."""
    seen: set[str] = set()
    previous: str | None = None
    ordered = True
    for page in pages(client, account, kind, NEWEST_FIRST):
        older_seen = False
        for item in page:
            item_id = item.get("id")
            if item_id is None or str(item_id) in seen:
                continue
            seen.add(str(item_id))
            stamp = updated_at(item)
            if ordered and (stamp is None or (previous is not None and stamp > previous)):
                ordered = False
                LOGGER.info("Ads %s list of ad account %s is not sorted by updated_at; "
                            "reading every page", kind, account)
            previous = stamp or previous
            if since is None or stamp is None or stamp >= since:
                yield item
            else:
                older_seen = True
        if older_seen and ordered:
            return
