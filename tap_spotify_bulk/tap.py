"""The tap: its settings and the streams it offers.

Bulk API streams live in `tap_spotify_bulk.bulk`, Ads API report streams in
`tap_spotify_bulk.ads`; each package declares its own settings (`SETTINGS`, see
`tap_spotify_bulk.shared_settings`) and checks the rules across them.

Configuration is checked before any request: the settings' values when the tap is built
(one-line `ConfigError` naming the setting, instead of the SDK's schema dump; unknown
settings get a warning naming the closest known one), and the credentials the *selected*
streams need when a sync starts (a missing one's message names the configured key that looks
like its typo). A stream the input catalog selects but the tap does not offer is named in a
warning. The command line runs the same checks on the config files
before the SDK starts (`validate_config`). Discovery (`--discover`) needs no credentials.
"""

from __future__ import annotations

import typing as t

import click
from singer_sdk import singerlib as singer
from singer_sdk import typing as th

from tap_spotify_bulk import bookmarks
from tap_spotify_bulk.ads import settings as ads_settings
from tap_spotify_bulk.ads.entities import ENTITY_STREAM_NAMES
from tap_spotify_bulk.ads.streams import ads_streams
from tap_spotify_bulk.bulk import settings as bulk_settings
from tap_spotify_bulk.bulk.streams import BULK_STREAM_NAMES, BulkStream, bulk_streams
from tap_spotify_bulk.errors import ConfigError, MissingSettingError, closest, suggestion
from tap_spotify_bulk.output import BufferedWriter
from tap_spotify_bulk.sdk_seam import SeamTap, config_error
from tap_spotify_bulk.shared_settings import TOKEN_URL, Setting

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


# Every setting of the tap, declared once (see `tap_spotify_bulk.shared_settings`).
SETTINGS: tuple[Setting, ...] = (*bulk_settings.SETTINGS, TOKEN_URL, *ads_settings.SETTINGS)


class TapSpotifyBulk(SeamTap):
    """Singer tap for Spotify's Bulk analytics API and the Spotify Ads API v3."""

    name = "tap-spotify-bulk"
    # One buffered writer for SDK messages and the Bulk streams' fast record path.
    message_writer_class = BufferedWriter

    config_jsonschema = th.PropertiesList(*(s.property() for s in SETTINGS)).to_dict()

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command line, with the tap's own entries in `--help`: `--check` and
        `ads-login` (both run by `tap_spotify_bulk.cli` before this command is reached)."""
        command = super().get_singer_command()
        for param in command.params:
            if param.name == "test" and isinstance(param, click.Option):
                param.help = ("The SDK's dry run: sync one record of each selected stream "
                              "(--test=schema: print the schemas). To try the credentials, "
                              "use --check.")
        command.params.append(click.Option(
            ["--check"], is_flag=True, expose_value=False,
            help="Try the credentials and the first listing of each configured API without "
                 "extracting anything: one line, exit 0 when they work, 1 when not."))
        command.epilog = (
            "\b\nMore commands:\n"
            "  tap-spotify-bulk --config FILE ads-login  get an Ads refresh token (OAuth)\n"
            "  tap-spotify-bulk ads-login --help         its options")
        return command

    def discover_streams(self) -> list:
        return [*bulk_streams(self), *ads_streams(self)]

    @classmethod
    def known_settings(cls) -> set[str]:
        """Our settings and the SDK's built-in ones (stream maps, flattening, batch, ...)."""
        schema = dict(cls.config_jsonschema)
        schema["properties"] = dict(schema["properties"])
        cls.append_builtin_config(schema)
        return set(schema["properties"])

    def check_settings(self) -> None:
        """Unknown settings are named (a warning), then the settings' values are checked, as
        one-line errors (before the SDK's schema check)."""
        for note in unknown_settings(self.config):
            self.logger.warning("%s", note)
        validate_settings(self.config, bulk_selected=False, ads_selected=False)

    def validate_selected_settings(self) -> None:
        """Check the settings, including the credentials the selected streams need."""
        selected = [s for s in self.streams.values() if s.selected]
        validate_settings(
            self.config,
            bulk_selected=any(isinstance(s, BulkStream) for s in selected),
            ads_selected=any(not isinstance(s, BulkStream) for s in selected),
        )

    def warn_unknown_streams(self) -> None:
        """One warning line per stream the input catalog selects that the tap does not
        offer (with this configuration): it would otherwise be skipped without a word."""
        if self.input_catalog is None:
            return
        offered = set(self.streams)
        for entry in self.input_catalog.streams:
            name = entry.tap_stream_id
            if name not in offered and entry.metadata.resolve_selection().get((), False):
                self.logger.warning("the catalog selects stream `%s`, which the tap does not "
                                    "offer; %s", name, suggestion(name, offered, "it is skipped."))

    def sync_all(self) -> None:
        self.warn_unknown_streams()
        self.validate_selected_settings()
        bookmarks.check_selected(self.streams.values())
        for runtime in {s.runtime for s in self.streams.values() if isinstance(s, BulkStream)}:
            runtime.start_load()
        try:
            super().sync_all()
        finally:
            if isinstance(self.message_writer, BufferedWriter):
                self.message_writer.drop_partial_line()
                self.message_writer.flush()

    def defer_termination(self, retry: Callable[[], None]) -> bool:
        """SIGTERM/SIGINT: the SDK writes the last STATE (bookmarks are complete dates) and
        exits. Deferred while output is being written; a half-appended record is dropped."""
        writer = self.message_writer
        if isinstance(writer, BufferedWriter):
            if writer.flushing:
                writer.after_flush = retry
                return True
            writer.drop_partial_line()
        return False


def validate_settings(config: Mapping[str, t.Any], *, bulk_selected: bool,
                      ads_selected: bool) -> None:
    """Both APIs' settings checks; raises a one-line `ConfigError`. A missing setting's
    message also names the configured key that looks like a typo of it."""
    try:
        bulk_settings.validate(config, bulk_selected=bulk_selected)
        TOKEN_URL.value(config)
        ads_settings.validate(config, ads_selected=ads_selected)
    except MissingSettingError as exc:
        hint = misspelt_keys(config, exc.settings)
        if not hint:
            raise
        raise MissingSettingError(f"{str(exc).rstrip('.')}; {hint}", *exc.settings) from None


def misspelt_keys(config: Mapping[str, t.Any], missing: Iterable[str]) -> str:
    """"`client_secrett` is set: did you mean `client_secret`?" for each key of `config` the
    tap does not know whose closest known name is one of `missing` ("" when none is)."""
    known = TapSpotifyBulk.known_settings()
    hints = [f"`{key}` is set: did you mean `{match}`?"
             for key in sorted(set(config) - known)
             if (match := closest(key, known)) in set(missing)]
    return " ".join(hints)


def selected_apis(config: Mapping[str, t.Any], catalog: dict | None) -> tuple[bool, bool]:
    """(a Bulk stream is selected, an Ads stream is selected) for a config and an input
    catalog, by the SDK's selection rules: without a catalog every stream is selected, with
    one a stream is selected when its entry says so (a stream it lacks is not)."""
    ads_tables = {spec.table for spec in ads_settings.report_specs(config)}
    if catalog is None:  # the entity streams are not selected by default
        return True, bool(ads_tables)
    try:
        entries = singer.Catalog.from_dict(catalog).streams  # type: ignore[arg-type]
    except (AttributeError, KeyError, TypeError, ValueError):
        msg = "`--catalog` file is not a Singer catalog (a `streams` list of stream entries)."
        raise ConfigError(msg) from None
    selected = {entry.tap_stream_id for entry in entries
                if entry.metadata.resolve_selection().get((), False)}
    ads_names = ads_tables | set(ENTITY_STREAM_NAMES)
    return bool(selected & set(BULK_STREAM_NAMES)), bool(selected & ads_names)


def validate_config(config: Mapping[str, t.Any], catalog: dict | None) -> None:
    """The whole configuration check of a sync, for a config and an input catalog, without
    building a tap (so nothing is logged before a bad configuration's one line)."""
    bulk_selected, ads_selected = selected_apis(config, catalog)
    validate_settings(config, bulk_selected=bulk_selected, ads_selected=ads_selected)


def unknown_settings(config: Mapping[str, t.Any]) -> list[str]:
    """One note per setting the tap does not know, with the closest known name. Only names
    are given, never values (a misspelt secret stays secret)."""
    known = TapSpotifyBulk.known_settings()
    return [f"unknown setting `{name}`; {suggestion(name, known, 'it is ignored.')}"
            for name in sorted(set(config) - known)]


__all__ = ["SETTINGS", "TapSpotifyBulk", "config_error", "unknown_settings", "validate_config",
           "validate_settings"]

if __name__ == "__main__":
    TapSpotifyBulk.cli()
