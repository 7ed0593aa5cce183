"""Ads API settings (SPEC §2, §5.3). PLACEHOLDER: owned by the Ads work (issue 5)."""

from __future__ import annotations

PROPERTIES: tuple = ()
