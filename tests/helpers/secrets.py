"""Secrets to scan for, and the scanner: every run helper scans everything a run wrote.

A run is scanned for the secrets it was given (each credential of its config, and the
Basic credentials built from every id:secret pair in it, right or wrong), and, with a
sandbox, for everything that sandbox handled: client secrets, refresh tokens (original and
rotated), issued access tokens and every Authorization header it received.
"""

from __future__ import annotations

import base64
import typing as t
import uuid

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from spotify_sandbox import Sandbox

SECRET_SETTINGS = ("client_secret", "ads_client_secret", "ads_refresh_token")
SHORTEST_SECRET = 8  # shorter test values ("wrong") would match ordinary words


def unique_credentials() -> dict[str, str]:
    """SandboxOptions credentials that are distinctive enough to scan output for."""
    tag = uuid.uuid4().hex[:12]
    return {"client_id": f"cid-{tag}", "client_secret": f"bulk-secret-{tag}",
            "ads_client_id": f"ads-cid-{tag}", "ads_client_secret": f"ads-secret-{tag}",
            "refresh_token": f"refresh-{tag}"}


def basic(user: str, password: str) -> str:
    """The Basic credentials as sent on the wire."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def credential_secrets(config: Mapping[str, t.Any] | None) -> list[str]:
    """The secrets a config passes in: its secret settings and the Basic credentials of its
    Bulk and Ads id:secret pairs (the Ads pair defaults to the Bulk one)."""
    if not config:
        return []

    def text(name: str, default: t.Any = None) -> str | None:
        value = config.get(name, default)
        return value if isinstance(value, str) else None

    found = [v for v in map(text, SECRET_SETTINGS) if v and len(v.strip()) >= SHORTEST_SECRET]
    pairs = [(text("client_id"), text("client_secret")),
             (text("ads_client_id", config.get("client_id")),
              text("ads_client_secret", config.get("client_secret")))]
    for user, password in pairs:
        if user is not None and password is not None:
            found += [basic(user, password), basic(user.strip(), password.strip())]
    return found


def listen_for_authorization(sb: Sandbox) -> list[str]:
    """Keep every Authorization header `sb` receives (in the returned list)."""
    seen: list[str] = []
    handle = sb.app.handle

    def handle_and_keep(incoming: t.Any) -> t.Any:
        value = incoming.headers.get("authorization")
        if value:
            seen.append(value)
        return handle(incoming)

    sb.app.handle = handle_and_keep
    return seen


def secrets_of(sb: Sandbox) -> list[str]:
    """Every secret a run against `sb` handled: client secrets, refresh tokens (original and
    rotated), issued access tokens, the Basic credentials of its own clients, and the
    credentials of every Authorization header it received (see `listen_for_authorization`)."""
    o = sb.options
    found = [o.client_secret, o.ads_client_secret, *sb.app.tokens.refresh_tokens,
             *sb.app.tokens.access_tokens(),
             basic(o.client_id, o.client_secret), basic(o.ads_client_id, o.ads_client_secret)]
    for header in getattr(sb, "authorizations", ()):
        found.append(header.split(" ", 1)[-1].strip())
    return [s for s in dict.fromkeys(found) if s]


def all_secrets(sandbox: Sandbox | None, config: Mapping[str, t.Any] | None = None,
                extra: Iterable[str] = ()) -> list[str]:
    """`extra`, the secrets `config` passes in and, when given, every secret of `sandbox`
    (read after the run, so rotated refresh tokens and issued access tokens are included)."""
    return [*extra, *credential_secrets(config),
            *(secrets_of(sandbox) if sandbox is not None else [])]


def assert_no_secrets(secrets: Iterable[str], *blobs: bytes | str) -> int:
    """No secret occurs in any blob; returns how many bytes were scanned."""
    scanned = 0
    wanted = [s for s in secrets if s]
    for blob in blobs:
        text = blob.decode(errors="replace") if isinstance(blob, bytes) else blob
        scanned += len(text)
        for secret in wanted:
            assert secret not in text, "a secret leaked into the output"
    return scanned


def scan_tree(secrets: Iterable[str], directory: Path) -> int:
    """Scan every file under `directory` (except the configs we wrote, which hold them)."""
    scanned = 0
    for path in directory.rglob("*"):
        if path.is_file() and not path.name.startswith("config-"):
            scanned += assert_no_secrets(secrets, path.read_bytes())
    return scanned
