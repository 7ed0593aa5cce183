"""`tap-spotify-bulk ads-login`: get an Ads refresh token with the authorization-code flow.

It listens on `http://127.0.0.1:<port>/callback` (register that redirect URI for the Ads
app), prints the authorize URL on stderr and opens a browser when there is one, waits for
the redirect, checks `state`, exchanges the code at the token endpoint and writes the
refresh token to stdout, or with `meltano config set <plugin> ads_refresh_token` when run
inside a Meltano project. The token also goes into the Ads token store with the time of
authorization (so runs warn before it expires), standing in for the configured
`ads_refresh_token` until the configuration is updated. The client id and secret come from
`--config` files (the tap's settings, as Meltano passes them), the environment
(`TAP_SPOTIFY_BULK_ADS_CLIENT_ID`, ...) or `--client-id`; the secret is never taken from the
command line. Nothing secret is printed except the refresh token on stdout when that is where
it was asked to go.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import threading
import typing as t
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tap_spotify_bulk import http
from tap_spotify_bulk.ads import settings as ads_settings
from tap_spotify_bulk.ads import token_store
from tap_spotify_bulk.config_files import merged_config
from tap_spotify_bulk.errors import AuthError, ConfigError, MissingSettingError, TapError
from tap_spotify_bulk.shared_settings import token_url as configured_token_url
from tap_spotify_bulk.tap import misspelt_keys

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

COMMAND = "ads-login"
DEFAULT_PORT = 8765
CALLBACK_PATH = "/callback"
ENV_PREFIX = "TAP_SPOTIFY_BULK_"
PAGE = b"<html><body><p>%s</p><p>You can close this window.</p></body></html>"


def authorize_url_for(token_url: str) -> str:
    """Spotify's authorize page lives next to its token endpoint (`/api/token`)."""
    base = token_url.rstrip("/")
    base = base[: -len("/api/token")] if base.endswith("/api/token") else base.rsplit("/", 1)[0]
    return f"{base}/authorize"


class _Callback(BaseHTTPRequestHandler):
    """Takes the first redirect to the callback path and keeps its query."""

    server: _Listener

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
        ok = "code" in query and query.get("state") == self.server.state
        text = b"Authorized." if ok else b"Authorization did not complete."
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE % text)
        if self.server.answer is None:
            self.server.answer = query
            self.server.done.set()

    def log_message(self, format: str, *args: t.Any) -> None:
        """Silent: the request line holds the authorization code."""


class _Listener(HTTPServer):
    def __init__(self, port: int, state: str) -> None:
        super().__init__(("127.0.0.1", port), _Callback)
        self.state = state
        self.answer: dict[str, str] | None = None
        self.done = threading.Event()


def from_environment(names: Iterable[str]) -> dict[str, str]:
    """The settings among `names` that the environment sets (`TAP_SPOTIFY_BULK_<NAME>`),
    as a config: the SDK reads them itself only for a run with `--config ENV`."""
    found = {name: os.environ.get(ENV_PREFIX + name.upper()) for name in names}
    return {name: value for name, value in found.items() if value}


def credentials(config: Mapping[str, t.Any], client_id: str | None) -> tuple[str, str]:
    """(client id, client secret) of the Ads app: flag, then settings, then environment,
    each with the settings' fallback (`ads_settings.CREDENTIAL_FALLBACKS`)."""
    pairs = ads_settings.CREDENTIAL_FALLBACKS[:2]  # the refresh token is what login gets
    environment = from_environment(s.name for pair in pairs for s in pair if s)
    found = [ads_settings.credential(config, *pair) or ads_settings.credential(environment, *pair)
             or "" for pair in pairs]
    if client_id:
        found[0] = client_id.strip()
    for value, (setting, fallback) in zip(found, pairs, strict=True):
        if not value:
            msg = (f"`{setting.name}` is needed for {COMMAND}: set it in the tap's config (or "
                   f"{ENV_PREFIX}{setting.name.upper()}).")
            names = (setting.name, *((fallback.name,) if fallback else ()))
            hint = misspelt_keys(config, names)
            raise MissingSettingError(f"{msg[:-1]}; {hint}" if hint else msg, *names)
    return found[0], found[1]


def configured(config: Mapping[str, t.Any], setting: str) -> str | None:
    """A setting from the config, else from the environment; None when unset."""
    value = config.get(setting) or from_environment([setting]).get(setting)
    return str(value).strip() if value else None


def store_token(config: Mapping[str, t.Any], client_id: str, token: str) -> None:
    """Keep the new token in the Ads token store, authorized now (unless the store is off).
    A store that cannot be written is told on stderr: the token still goes to its output."""
    where = {"ads_token_store": configured(config, "ads_token_store")}
    try:
        path = token_store.record_login(where, client_id, token,
                                        replaced=configured(config, "ads_refresh_token"))
    except TapError as exc:
        sys.stderr.write(f"{COMMAND}: the token was not kept in the Ads token store: {exc}\n")
        return
    if path is not None:
        sys.stderr.write(f"The refresh token is kept in the Ads token store {path}.\n")


def check_client(authorize_url: str, params: dict[str, str]) -> None:
    """Ask the authorize page once without a browser: an unknown client id is refused
    there (4xx) and would otherwise leave the browser on an error page."""
    try:
        response = requests.get(authorize_url, params=params, allow_redirects=False,
                                timeout=http.DEFAULT_TIMEOUT)
    except requests.RequestException as exc:
        msg = f"{COMMAND}: cannot reach {authorize_url} ({type(exc).__name__})."
        raise AuthError(msg) from None
    if 400 <= response.status_code < 500:
        msg = (f"{COMMAND}: the authorize page refused the client id (HTTP "
               f"{response.status_code}): check `ads_client_id` and that the redirect URI "
               f"{params['redirect_uri']} is registered for the app.")
        raise AuthError(msg)


def exchange(token_url: str, client: tuple[str, str], code: str, redirect_uri: str) -> str:
    """The refresh token the code is worth."""
    try:
        response = requests.post(
            token_url, auth=client, timeout=http.DEFAULT_TIMEOUT,
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": redirect_uri})
    except requests.RequestException as exc:
        msg = f"{COMMAND}: cannot reach the token endpoint {token_url} ({type(exc).__name__})."
        raise AuthError(msg) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if response.status_code == 200 and isinstance(body.get("refresh_token"), str):
        return body["refresh_token"]
    error = str(body.get("error") or f"HTTP {response.status_code}")
    hint = ("check `ads_client_id` and `ads_client_secret`" if error == "invalid_client"
            else "run the login again")
    msg = f"{COMMAND}: the token endpoint refused the authorization code ({error}); {hint}."
    raise AuthError(msg)


def wait_for_code(listener: _Listener, timeout: float) -> str:
    """The code of the redirect; `AuthError` on refusal, a wrong state or no answer."""
    if not listener.done.wait(timeout):
        msg = f"{COMMAND}: no authorization arrived within {timeout:.0f}s; run it again."
        raise AuthError(msg)
    answer = listener.answer or {}
    if "error" in answer:
        msg = (f"{COMMAND}: authorization was refused ({answer['error'][:60]}): consent "
               "was not given for the Ads app.")
        raise AuthError(msg)
    if answer.get("state") != listener.state or "code" not in answer:
        msg = f"{COMMAND}: the redirect did not match this login (state); run it again."
        raise AuthError(msg)
    return answer["code"]


def login(config: Mapping[str, t.Any], *, client_id: str | None = None, port: int = DEFAULT_PORT,
          scope: str | None = None, authorize_url: str | None = None, timeout: float = 300.0,
          show: Callable[[str], None]) -> str:
    """Run the flow; `show` presents the authorize URL (print, browser). The refresh token."""
    client = credentials(config, client_id)
    token_url = configured_token_url(config)
    authorize_url = authorize_url or authorize_url_for(token_url)
    state = secrets.token_urlsafe(16)
    try:
        listener = _Listener(port, state)
    except OSError as exc:
        msg = f"{COMMAND}: cannot listen on 127.0.0.1:{port} ({exc.strerror}); use --port."
        raise ConfigError(msg) from None
    redirect_uri = f"http://127.0.0.1:{listener.server_address[1]}{CALLBACK_PATH}"
    params = {"client_id": client[0], "response_type": "code", "redirect_uri": redirect_uri,
              "state": state, **({"scope": scope} if scope else {})}
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        check_client(authorize_url, {**params, "state": secrets.token_urlsafe(16)})
        show(f"{authorize_url}?{urlencode(params)}")
        code = wait_for_code(listener, timeout)
    finally:
        listener.shutdown()
        listener.server_close()
    return exchange(token_url, client, code, redirect_uri)


def meltano_command() -> str | None:
    """`meltano` beside this Python (the same virtualenv), else on PATH."""
    beside = Path(sys.executable).with_name("meltano")
    return str(beside) if beside.is_file() else shutil.which("meltano")


def in_meltano_project() -> bool:
    root = os.environ.get("MELTANO_PROJECT_ROOT") or "."
    return (Path(root) / "meltano.yml").is_file() and meltano_command() is not None


def save_with_meltano(plugin: str, token: str) -> None:
    """`meltano config set <plugin> ads_refresh_token`, the value read from stdin (never on
    a command line); Meltano keeps secret settings in the project's `.env`."""
    command = [meltano_command() or "meltano", "config", "set", "--from-file", "-", plugin,
               "ads_refresh_token"]
    done = subprocess.run(command, input=token, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        msg = (f"{COMMAND}: `meltano config set {plugin} ads_refresh_token` failed (exit "
               f"{done.returncode}); run it inside the Meltano project, or use --output stdout.")
        raise ConfigError(msg)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog=f"tap-spotify-bulk {COMMAND}",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--config", action="append", default=[],
                        help="tap config file(s) with ads_client_id / ads_client_secret")
    parser.add_argument("--client-id", help="Ads app client id (else from the config)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="local port of the redirect URI (0: any free port)")
    parser.add_argument("--scope", help="space-separated scopes to ask for")
    parser.add_argument("--authorize-url", help="default: next to `token_url`")
    parser.add_argument("--output", choices=("auto", "stdout", "meltano"), default="auto",
                        help="auto: meltano inside a Meltano project, else stdout")
    parser.add_argument("--plugin", default="tap-spotify-bulk", help="Meltano plugin name")
    parser.add_argument("--no-browser", action="store_true", help="only print the URL")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    args = parser.parse_args(argv)
    config = merged_config(args.config)

    def show(url: str) -> None:
        sys.stderr.write(f"Open this URL to authorize the Ads app:\n{url}\n")
        sys.stderr.flush()
        if not args.no_browser:
            webbrowser.open(url)

    token = login(config, client_id=args.client_id, port=args.port, scope=args.scope,
                  authorize_url=args.authorize_url, timeout=args.timeout, show=show)
    store_token(config, credentials(config, args.client_id)[0], token)
    output = args.output
    if output == "auto":
        output = "meltano" if in_meltano_project() else "stdout"
    if output == "meltano":
        save_with_meltano(args.plugin, token)
        sys.stderr.write(f"ads_refresh_token saved with `meltano config set {args.plugin}`.\n")
    else:
        sys.stdout.write(token + "\n")
        sys.stdout.flush()
