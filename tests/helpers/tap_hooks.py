"""The `tap-spotify-bulk` command with test hooks, run as a script by `helpers.run.command`:

    python tests/helpers/tap_hooks.py [--fast-retries] [--frozen-now ISO]
                                      [--ads-state-every N] -- TAP ARGS...

Each hook replaces one attribute of the tap, reached through a real import, and refuses
an attribute that no longer exists: renaming what a hook replaces fails the tests that use
it at once, with the hook's name, instead of leaving the hook silently without effect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import typing as t

import tap_spotify_bulk.http
from tap_spotify_bulk import cli
from tap_spotify_bulk.ads import times
from tap_spotify_bulk.ads.streams import AdsReportStream


def replace(owner: object, name: str, value: t.Any) -> None:
    """`owner.name = value`, for an attribute the tap really has."""
    if not hasattr(owner, name):
        msg = f"test hook: {owner!r} has no attribute {name!r} any more"
        raise AttributeError(msg)
    setattr(owner, name, value)


def install(options: argparse.Namespace) -> None:
    if options.fast_retries:  # 10 ms between attempts; Retry-After is still honoured
        replace(tap_spotify_bulk.http, "backoff_delay", lambda attempt, **_: 0.01)
    if options.frozen_now:  # the Ads clock, as the sandbox's
        frozen = dt.datetime.fromisoformat(options.frozen_now)
        replace(times, "utc_now", lambda: frozen)
    if options.ads_state_every:  # an Ads STATE every N records, so a kill lands inside
        replace(AdsReportStream, "STATE_MSG_FREQUENCY", options.ads_state_every)


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="tap_hooks")
    parser.add_argument("--fast-retries", action="store_true")
    parser.add_argument("--frozen-now")
    parser.add_argument("--ads-state-every", type=int)
    install(parser.parse_args(argv[:split]))
    sys.argv = ["tap-spotify-bulk", *argv[split + 1:]]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
