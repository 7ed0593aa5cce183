"""Talking to the sandbox's Bulk API directly (as any client would), for the sandbox's own
tests: a bearer token, listings, raw files behind their 303, their lines."""

from __future__ import annotations

import gzip
import typing as t

import orjson
import requests

if t.TYPE_CHECKING:
    from spotify_sandbox import Sandbox


def bulk_headers(sb: Sandbox) -> dict[str, str]:
    """The Authorization header of a fresh Bulk token of the sandbox's own client."""
    o = sb.options
    token = requests.post(sb.token_url, data={"grant_type": "client_credentials"},
                          auth=(o.client_id, o.client_secret), timeout=10).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def get(sb: Sandbox, path: str, headers: dict[str, str], **kwargs: t.Any) -> requests.Response:
    """GET a Bulk API path, redirects not followed."""
    return requests.get(sb.bulk_api_url + path, headers=headers, allow_redirects=False,
                        timeout=10, **kwargs)


def download(sb: Sandbox, headers: dict[str, str], path: str) -> bytes:
    """The raw (gzip) bytes of a data file, following the 303 without the bearer token."""
    response = requests.get(sb.bulk_api_url + path, headers=headers, allow_redirects=False,
                            timeout=30)
    if response.status_code == 303:
        response = requests.get(response.headers["Location"], timeout=30)
    assert response.status_code == 200, path
    return response.content


def listing(sb: Sandbox, headers: dict[str, str], path: str) -> list[str]:
    """The `uri`s a listing names ([] when it answers otherwise than 200)."""
    response = requests.get(sb.bulk_api_url + path, headers=headers, timeout=10)
    return [item["uri"] for item in response.json()] if response.status_code == 200 else []


def served_lines(raw: bytes) -> list[dict]:
    """The parsed non-blank lines of a gzip file."""
    return [orjson.loads(line) for line in gzip.decompress(raw).split(b"\n") if line.strip()]
