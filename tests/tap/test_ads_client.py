"""AdsClient's request path (pacing, 401-once, 429, 5xx) against a scripted local server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tap_spotify_bulk.ads.client import AdsClient, RatePacer
from tap_spotify_bulk.auth import TokenClient
from tap_spotify_bulk.errors import ApiError, AuthError


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


class Scripted(ThreadingHTTPServer):
    """Answers API calls from a script of (status, headers); the token endpoint always 200."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple[int, dict]] = []
        self.tokens_issued = 0
        self.seen_tokens: list[str] = []


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.tokens_issued += 1
        self._send(200, {}, {"access_token": f"tok{self.server.tokens_issued}",
                             "token_type": "Bearer", "expires_in": 3600})

    def do_GET(self) -> None:
        self.server.seen_tokens.append(self.headers["Authorization"])
        status, headers = self.server.script.pop(0) if self.server.script else (200, {})
        self._send(status, headers, {"ok": status == 200, "messages": ["scripted"]})

    def _send(self, status: int, headers: dict, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    srv = Scripted()
    # A short poll interval: `shutdown` waits up to one interval for the loop to notice.
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client_for(server: Scripted, fake: FakeTime, limit: int = 145) -> AdsClient:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    tokens = TokenClient(token_url=f"{base}/api/token", client_id="i", client_secret="s",
                         refresh_token="r", api_name="Ads API", id_setting="ads_client_id",
                         secret_setting="ads_client_secret")
    pacer = RatePacer(limit, 30.0, clock=fake.clock, sleep=fake.sleep)
    return AdsClient(base_url=base, tokens=tokens, pacer=pacer, clock=fake.clock,
                     sleep=fake.sleep)


def test_pacer_keeps_under_the_limit_in_any_window():
    fake = FakeTime()
    pacer = RatePacer(3, 10.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(7):
        pacer.wait()
    assert fake.sleeps == [10.0, 10.0]
    pacer.pause(4.0)
    pacer.wait()
    assert fake.sleeps[-1] == 4.0


def test_429s_wait_as_told_and_never_use_up_the_retry_budget(server):
    fake = FakeTime()
    server.script = [(429, {"Retry-After": "7"}),
                     (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"}),
                     *[(429, {})] * 10,  # more 429s than the 8 tries 5xx get
                     (502, {}), (200, {})]
    response = client_for(server, fake).get("/x", what="test call")
    assert response.status_code == 200
    assert fake.sleeps[:2] == [7.0, 12.0]
    assert len(fake.sleeps) == 13  # 12 waits for 429s, 1 backoff for the 502


def test_a_401_refreshes_the_token_once(server):
    fake = FakeTime()
    server.script = [(401, {}), (200, {})]
    assert client_for(server, fake).get("/x", what="test call").status_code == 200
    assert server.seen_tokens == ["Bearer tok1", "Bearer tok2"]

    server.script = [(401, {}), (401, {})]
    with pytest.raises(AuthError, match="`ads_refresh_token`"):
        client_for(server, fake).get("/x", what="test call")


def test_5xx_gives_up_after_the_retry_budget(server):
    fake = FakeTime()
    server.script = [(503, {})] * 8
    with pytest.raises(ApiError, match="gave up after 8 attempts, last answer HTTP 503"):
        client_for(server, fake).get("/x", what="test call")
    assert len(fake.sleeps) == 7


def test_get_json_reports_the_api_message_on_one_line(server):
    fake = FakeTime()
    server.script = [(400, {})]
    with pytest.raises(ApiError) as err:
        client_for(server, fake).get_json("/x", what="Ads test report")
    assert str(err.value) == "Ads test report: the Ads API answered HTTP 400 (scripted)."


REPORT = "/ad_accounts/a/aggregate_reports"
LIST = "/ad_accounts/a/campaigns"


def test_each_endpoint_class_has_its_own_pace(server):
    """Reporting calls (150 / 30 s) do not hold back the others (1,500 / 30 s)."""
    fake = FakeTime()
    client = client_for(server, fake, limit=2)
    for path in (REPORT, LIST, REPORT, LIST, LIST, REPORT, LIST):
        assert client.get(path, what="test call").status_code == 200
    assert fake.sleeps == [30.0]  # only the third reporting call waited


def test_a_spent_budget_in_the_headers_holds_that_class_back(server):
    """`X-RateLimit-Remaining: 0` on a 200 answer: that class's next call waits
    `X-RateLimit-Reset` seconds (no 429 needed); the other class does not wait."""
    fake = FakeTime()
    server.script = [(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9"}),
                     (200, {}), (200, {"X-RateLimit-Remaining": "3",
                                       "X-RateLimit-Reset": "20"}), (200, {}), (200, {})]
    client = client_for(server, fake)
    client.get(REPORT, what="test call")
    client.get(LIST, what="test call")
    assert fake.sleeps == []
    client.get(REPORT, what="test call")
    assert fake.sleeps == [9.0]
    client.get(REPORT, what="test call")  # budget left: no wait
    assert fake.sleeps == [9.0]
