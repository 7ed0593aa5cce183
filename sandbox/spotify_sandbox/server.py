"""The sandbox HTTP server: one port for the token endpoint, Bulk API, signed URLs and Ads API.

`Sandbox` runs a stdlib `ThreadingHTTPServer` on 127.0.0.1 in a background thread; use it
as a context manager (or `start()` / `stop()`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import orjson

from spotify_sandbox.app import FileBody, Incoming, Reset, SandboxApp
from spotify_sandbox.options import SandboxOptions
from spotify_sandbox.routing import SandboxResponse

if TYPE_CHECKING:
    from collections.abc import Iterable


HOST = "127.0.0.1"
LOGGER = logging.getLogger("spotify_sandbox")
WRITE_BUFFER = 256 * 1024


class _Server(ThreadingHTTPServer):
    """Keeps its open connections so that `close_connections` can end idle keep-alives."""

    daemon_threads = True
    allow_reuse_address = True
    app: SandboxApp

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now, self._open = list(self._open), set()
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SpotifySandbox/1.0"
    # TCP_NODELAY: without it the small last write of a chunked file body waits for the
    # client's delayed ACK, adding ~40 ms to every file download.
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections end after this
    stream_timeout = 600  # a file's reader may pause (its consumer is busy) this long
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log lives in `Sandbox.request_log`."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        incoming = Incoming(self.command, self.path, headers, body)
        app = self.server.app
        try:
            outcome, kind, fault = app.handle(incoming)
        except Exception as exc:  # a sandbox bug: answer 500, keep serving, count it
            LOGGER.exception("sandbox error on %s %s", self.command, self.path.split("?")[0])
            app.stats.sandbox_error()
            message = f"sandbox error: {type(exc).__name__}"
            outcome = SandboxResponse(500, orjson.dumps({"error": {"status": 500,
                                                                   "message": message}}))
            kind, fault = "error", None
        # Logged before answering, so a client that got its answer also finds it in the log.
        app.stats.record(kind=kind, method=self.command, path=self.path.split("?")[0],
                         status=0 if isinstance(outcome, Reset) else outcome.status,
                         auth="authorization" in headers, fault=fault)
        try:
            if isinstance(outcome, Reset):
                self._reset()
            elif isinstance(outcome, FileBody):
                app.stats.add_bytes(self._send_stream(outcome))
            else:
                app.stats.add_bytes(self._send(outcome))
        except OSError:  # the client went away, or stop() closed the connection
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch  # noqa: N815 (stdlib names)

    def _send(self, response: SandboxResponse) -> int:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)
        return len(response.body)

    def _send_stream(self, body: FileBody) -> int:
        self.send_response(body.status)
        self.send_header("Content-Type", body.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in body.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.connection.settimeout(self.stream_timeout)
        sent, pending, size = 0, [], 0
        for chunk in body.chunks:
            pending.append(chunk)
            size += len(chunk)
            if size >= WRITE_BUFFER:
                sent += self._write_chunk(b"".join(pending))
                pending, size = [], 0
        if size:
            sent += self._write_chunk(b"".join(pending))
        self.wfile.write(b"0\r\n\r\n")
        self.connection.settimeout(self.timeout)
        return sent

    def _write_chunk(self, data: bytes) -> int:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        return len(data)

    def _reset(self) -> None:
        """Abort the connection: RST instead of an answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


class Sandbox:
    """A running local Spotify (token + Bulk + Ads) server. See SandboxOptions for knobs."""

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.app = SandboxApp(options or SandboxOptions())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Sandbox:
        server = _Server((HOST, self.options.port))
        server.app = self.app
        self._server = server
        self.app.base_url = f"http://{HOST}:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name="spotify-sandbox",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------
    @property
    def options(self) -> SandboxOptions:
        return self.app.options

    @property
    def port(self) -> int:
        assert self._server is not None, "the sandbox is not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return self.app.base_url

    @property
    def token_url(self) -> str:
        return self.base_url + "/api/token"

    @property
    def bulk_api_url(self) -> str:
        return self.base_url + "/v1/analytics"

    @property
    def ads_api_url(self) -> str:
        return self.base_url + "/ads/v3"

    @property
    def refresh_token(self) -> str:
        """The currently valid Ads refresh token (changes when rotation is on)."""
        return self.app.tokens.refresh_token

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """A complete tap config for this sandbox (api-contract §2 names), `overrides` applied."""
        o = self.options
        config: dict[str, Any] = {
            "client_id": o.client_id,
            "client_secret": o.client_secret,
            "licensor": o.licensor,
            "start_date": o.start.isoformat(),
            "end_date": o.end.isoformat(),
            "bulk_api_url": self.bulk_api_url,
            "token_url": self.token_url,
            "ads_client_id": o.ads_client_id,
            "ads_client_secret": o.ads_client_secret,
            "ads_refresh_token": self.refresh_token,
            "ads_api_url": self.ads_api_url,
        }
        config.update(overrides)
        return config

    # -- truth, stats, log ---------------------------------------------------------------
    def bulk_truth(self, start: dt.date | str | None = None, end: dt.date | str | None = None,
                   streams: Iterable[str] | None = None,
                   countries: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """{stream: Tally.summary()} of what a correct tap emits for [start, end]."""
        return self.app.bulk_truth(self.options, start or self.options.start,
                                   end or self.options.end, streams=streams, countries=countries)

    @property
    def ads_api(self) -> Any:
        return self.app.ads_api

    def ads_truth(self, *args: Any, **kwargs: Any) -> Any:
        if self.app.ads_api is None:
            raise RuntimeError("the Ads API part of the sandbox (sandbox/ads_api.py) is missing")
        return self.app.ads_api.truth(*args, **kwargs)

    @property
    def stats(self) -> dict[str, Any]:
        return self.app.stats.snapshot()

    @property
    def request_log(self) -> list[dict[str, Any]]:
        return self.app.stats.log()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no connection is open: every request has been answered (or its client
        is gone) and logged. After a client is killed, a request it sent may still be in
        hand; call this before reading or clearing the logs for the next client."""
        assert self._server is not None, "the sandbox is not started"
        deadline = time.monotonic() + timeout
        while self._server.open_connections():
            if time.monotonic() > deadline:
                msg = f"the sandbox still had open connections after {timeout} s"
                raise TimeoutError(msg)
            time.sleep(0.01)

    def reset_counters(self) -> None:
        """Forget the request log, counters and fault attempts (faults fire again)."""
        self.app.stats.clear()
        self.app.injector.reset_attempts()

    def restate(self, day: dt.date | str) -> int:
        """Replace every file of `day` with a corrected generation (shorter country files, one
        country file gone, fewer tracks, new values); the truth follows. Returns the new
        generation; signed URLs of the old one answer 404."""
        return self.app.data.restate(
            day if isinstance(day, dt.date) else dt.date.fromisoformat(day))

    def credit_late_conversions(self, day: dt.date | str) -> dict[str, Any]:
        """Credit more conversions and revenue to a past `day` of every Ads ad with a pixel,
        as late attribution does; the Ads truth follows. Returns {"date", "credits" (so far
        on that day), "ads_credited" (ads whose rows of that day changed)}."""
        if self.app.ads_api is None:
            raise RuntimeError("the Ads API part of the sandbox (sandbox/ads_api.py) is missing")
        return self.app.ads_api.credit_late_conversions(
            day if isinstance(day, dt.date) else dt.date.fromisoformat(day))

    def expire_tokens(self) -> None:
        """Expire every access token issued so far (the next API call answers 401)."""
        self.app.tokens.expire_all()
