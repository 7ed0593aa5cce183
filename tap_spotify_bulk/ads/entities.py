"""Ads entity streams: `businesses`, `ad_accounts`, `campaigns`, `ad_sets`, `ads`.

The account structure that report rows reference by id, with every field the v3 list
endpoints return (`entity_fields`). Ids are UUIDs, unique across ad accounts, so each stream
is keyed by `id` alone; every record also carries `ad_account_id` (businesses excepted).

* `campaigns`, `ad_sets`, `ads`: incremental on `updated_at`, bookmarked per ad account.
  The list is asked newest first and read only down to the bookmark (`listing`): one
  request per page of 50, none per entity. Records are emitted newest first, so progress
  within an account is not resumable; the bookmark is committed once the account is done:
  a STATE goes out before the next account is read (the SDK alone would wait for the end
  of the stream, and a kill would lose every account read so far).
* `businesses`, `ad_accounts`: full snapshots. Their lists are neither paged nor sortable,
  and account discovery reads them anyway, so a snapshot costs no extra request.

The streams are not selected by default (a catalog or Meltano `select` turns them on), so
configurations that extract Bulk reports only are unchanged; when selected they need the
Ads credentials.
"""

from __future__ import annotations

import typing as t

from singer_sdk import Stream

from tap_spotify_bulk import bookmarks, sdk_seam, stream_names
from tap_spotify_bulk.ads import entity_fields, listing
from tap_spotify_bulk.ads.windows import iso, parse_time

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap

    from tap_spotify_bulk.ads.context import AdsContext

INCREMENTAL = stream_names.ADS_ENTITY_INCREMENTAL
SNAPSHOTS = stream_names.ADS_ENTITY_SNAPSHOTS
ENTITY_STREAM_NAMES = stream_names.ADS_ENTITIES


class AdsEntityStream(Stream):
    """One Ads entity list."""

    selected_by_default = False
    is_sorted = False  # newest first within an account (see the module docstring)
    bookmark_parser = staticmethod(parse_time)

    def __init__(self, tap: Tap, name: str, shared: AdsContext) -> None:
        self.shared = shared
        self._warned: set[str] = set()
        super().__init__(tap=tap, name=name, schema=entity_fields.schema(name))
        self.primary_keys = ["id"]
        if name in INCREMENTAL:
            self.replication_key = "updated_at"

    @property
    def partitions(self) -> list[dict] | None:
        if self.name in INCREMENTAL:
            return [{"ad_account_id": account} for account in self.shared.accounts]
        return None

    def get_records(self, context: Mapping[str, t.Any] | None) -> Iterable[dict]:
        if self.name == "businesses":
            for business in self.shared.selected_businesses():
                yield entity_fields.record(self.name, business, None, self._warned)
        elif self.name == "ad_accounts":
            for account in self.shared.accounts:
                item = {**self.shared.account_objects.get(account, {}), "id": account}
                yield entity_fields.record(self.name, item, account, self._warned)
        elif context:
            if sdk_seam.state_pending(self):  # commit the accounts already read
                sdk_seam.write_state(self)
            account = context["ad_account_id"]
            since = self._bookmark(context)
            for item in listing.newest_first(self.shared.client, account, self.name, since):
                yield entity_fields.record(self.name, item, account, self._warned)

    def _bookmark(self, context: Mapping[str, t.Any]) -> str | None:
        """The account's `updated_at` bookmark as `YYYY-MM-DDTHH:MM:SSZ`, or None."""
        state = self.get_context_state(dict(context))
        moment = bookmarks.read(self.name, self.replication_key, state, self.bookmark_parser)
        return None if moment is None else iso(moment)


def entity_streams(tap: Tap, shared: AdsContext) -> list[Stream]:
    return [AdsEntityStream(tap, name, shared) for name in ENTITY_STREAM_NAMES]
