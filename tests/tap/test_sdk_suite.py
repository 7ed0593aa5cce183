"""The Meltano Singer SDK's standard tap tests, run against a small sandbox.

The SDK builds the test class (and its tap config) when this module is imported, so the
sandbox starts at import and stops when the module's tests are done.
"""

from __future__ import annotations

import atexit
import datetime as dt
import typing as t

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from spotify_sandbox import Sandbox, SandboxOptions

from tap_spotify_bulk.tap import TapSpotifyBulk

SANDBOX = Sandbox(SandboxOptions(seed=11, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 2),
                                 scale=200, catalogue_size=50, empty_day_rate=0.0)).start()
atexit.register(SANDBOX.stop)


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> t.Iterator[None]:
    yield
    SANDBOX.stop()


CONFIG = SANDBOX.tap_config(max_workers=2)


def _every_stream_selected() -> dict:
    """The discovered catalog with every stream selected (the Ads entity streams are not
    selected by default)."""
    catalog = TapSpotifyBulk(config=CONFIG, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = True
    return catalog


TestTapSpotifyBulk = get_tap_test_class(
    TapSpotifyBulk,
    config=CONFIG,
    catalog=_every_stream_selected(),
    suite_config=SuiteConfig(max_records_limit=100),
)
