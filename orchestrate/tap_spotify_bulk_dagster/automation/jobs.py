"""The jobs: the Bulk reports with the whole dbt project after them, and the Ads reports with
the models downstream of them."""

from __future__ import annotations

from typing import Any

import dagster as dg


def build_bulk_job(bulk: dg.AssetsDefinition, models: dg.AssetsDefinition) -> Any:
    """The Bulk reports, then the whole dbt project (a partial build would run tests that read
    marts it did not build)."""
    return dg.define_asset_job("spotify_bulk_job", selection=dg.AssetSelection.assets(
        bulk, models))


def build_ads_job(ads_reports: dg.AssetsDefinition) -> Any:
    """The Ads reports, then the models downstream of them (the Ads mart)."""
    return dg.define_asset_job("spotify_ads_job", selection=dg.AssetSelection.assets(
        ads_reports).downstream())
