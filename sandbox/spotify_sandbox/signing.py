"""Signed URLs for data files, like Google Cloud Storage's: opaque path, expiry, HMAC."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets


class UrlSigner:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _sig(self, opaque: str, expires: int) -> str:
        return hmac.new(self._key, f"{opaque}:{expires}".encode(), hashlib.sha256).hexdigest()[:40]

    def sign(self, file_path: str, ttl: float, now: float) -> str:
        """'/signed/<opaque>?expires=<epoch>&sig=<hmac>' for `file_path`."""
        opaque = base64.urlsafe_b64encode(file_path.encode()).decode().rstrip("=")
        expires = math.floor(now + ttl)
        return f"/signed/{opaque}?expires={expires}&sig={self._sig(opaque, expires)}"

    def verify(self, opaque: str, expires: str, sig: str, now: float) -> tuple[str | None, str]:
        """(file path, "") when valid, else (None, "bad" | "expired")."""
        try:
            expires_at = int(expires)
        except ValueError:
            return None, "bad"
        if not hmac.compare_digest(self._sig(opaque, expires_at), sig):
            return None, "bad"
        if now > expires_at:
            return None, "expired"
        try:
            path = base64.urlsafe_b64decode(opaque + "=" * (-len(opaque) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, "bad"
        return path, ""
