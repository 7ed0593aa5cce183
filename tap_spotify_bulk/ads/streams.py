"""Ads API report streams. PLACEHOLDER: owned by the Ads work (issue 5)."""

from __future__ import annotations


def ads_streams(tap: object) -> list:
    return []
