"""Bulk API streams. PLACEHOLDER: owned by the Bulk streams work (issue 4)."""

from __future__ import annotations


def bulk_streams(tap: object) -> list:
    return []
