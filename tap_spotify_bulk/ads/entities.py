"""Ads entity streams: `businesses`, `ad_accounts`, `campaigns`, `ad_sets`, `ads`.

The account structure that report rows reference by id, with every field the v3 list
endpoints return (`entity_fields`). Ids are UUIDs, unique across ad accounts, so each stream
is keyed by `id` alone; every record also carries `ad_account_id` (businesses excepted).

* `campaigns`, `ad_sets`, `ads`: incremental on `updated_at`, bookmarked per ad account.
  The list is asked newest first and read only down to the bookmark (`listing`): one
  request per page of 50, none per entity. An account's items are then emitted oldest
  first (sorted in bounded memory by `sorted_window.SortedWindow`), so the stream is sorted as the
  SDK expects: the bookmark only grows and any STATE is resumable. A STATE also goes out
  before the next account is read (the SDK alone would wait for the end of the stream, and
  a kill would lose every account read so far).
* `businesses`, `ad_accounts`: full snapshots. Their lists are neither paged nor sortable,
  and account discovery reads them anyway, so a snapshot costs no extra request.

The streams are offered once `ads_refresh_token` is set (`ads_streams`) and are marked not
selected by default: a tap run without a catalog leaves them out, while Meltano, which
selects every discovered stream unless `select:` says otherwise, extracts them. When
selected they need the Ads credentials.
"""

from __future__ import annotations

import typing as t

from singer_sdk import Stream

from tap_spotify_bulk import bookmarks, sdk_seam, stream_names
from tap_spotify_bulk.ads import entity_fields, listing, sorted_window
from tap_spotify_bulk.ads.times import iso, parse_time

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap

    from tap_spotify_bulk.ads.runtime import AdsRuntime

INCREMENTAL = stream_names.ADS_ENTITY_INCREMENTAL
ENTITY_STREAM_NAMES = stream_names.ADS_ENTITIES


class AdsEntityStream(Stream):
    """One Ads entity list."""

    selected_by_default = False
    is_sorted = True  # oldest first within an account (see the module docstring)
    # An `updated_at` the API words differently from the bookmark must not fail the run.
    check_sorted = False
    bookmark_parser = staticmethod(parse_time)

    def __init__(self, tap: Tap, name: str, runtime: AdsRuntime) -> None:
        self.runtime = runtime
        self._warned: set[str] = set()
        super().__init__(tap=tap, name=name, schema=entity_fields.schema(name))
        self.primary_keys = ["id"]
        if name in INCREMENTAL:
            self.replication_key = "updated_at"

    @property
    def partitions(self) -> list[dict] | None:
        if self.name in INCREMENTAL:
            return [{"ad_account_id": account} for account in self.runtime.accounts]
        return None

    def get_records(self, context: Mapping[str, t.Any] | None) -> Iterable[dict]:
        if self.name == "businesses":
            for business in self.runtime.selected_businesses():
                yield entity_fields.record(self.name, business, None, self._warned)
        elif self.name == "ad_accounts":
            for account in self.runtime.accounts:
                item = {**self.runtime.account_objects.get(account, {}), "id": account}
                yield entity_fields.record(self.name, item, account, self._warned)
        elif context:
            if sdk_seam.state_pending(self):  # commit the accounts already read
                sdk_seam.write_state(self)
            yield from self._oldest_first(context["ad_account_id"], self._bookmark(context))

    def _oldest_first(self, account: str, since: str | None) -> Iterable[dict]:
        """The account's items updated at or after `since`, in (`updated_at`, `id`) order."""
        what = f"Ads {self.name} list of ad account {account}"
        with sorted_window.SortedWindow(self.runtime.temp_dir, what) as window:
            for item in listing.newest_first(self.runtime.client, account, self.name, since):
                record = entity_fields.record(self.name, item, account, self._warned)
                window.add((str(record.get("updated_at") or ""), str(record["id"])), record)
            yield from window.records()

    def _bookmark(self, context: Mapping[str, t.Any]) -> str | None:
        """The account's `updated_at` bookmark as `YYYY-MM-DDTHH:MM:SSZ`, or None."""
        state = self.get_context_state(dict(context))
        moment = bookmarks.read(self.name, self.replication_key, state, self.bookmark_parser)
        return None if moment is None else iso(moment)


def entity_streams(tap: Tap, runtime: AdsRuntime) -> list[Stream]:
    return [AdsEntityStream(tap, name, runtime) for name in ENTITY_STREAM_NAMES]
