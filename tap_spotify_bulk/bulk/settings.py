"""Bulk API settings (SPEC §2). PLACEHOLDER: owned by the Bulk streams work (issue 4)."""

from __future__ import annotations

PROPERTIES: tuple = ()
