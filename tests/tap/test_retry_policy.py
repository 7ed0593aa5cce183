"""The one retry policy (`http.RetryPolicy`) shared by the token, Bulk and Ads clients:
wait hints, budgets and the 401 hook, on scripted answers (no network: the session
answers from a list of `requests.Response` objects built here)."""

from __future__ import annotations

import pytest
import requests

from tap_spotify_bulk import http
from tap_spotify_bulk.errors import ApiError


def answer(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = b"{}"
    response._content_consumed = True
    return response


class ScriptedSession(requests.Session):
    """Answers `request` from a script; a script item that is an exception is raised."""

    def __init__(self, script: list) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[dict] = []

    def request(self, method, url, **kwargs):  # type: ignore[override]
        self.sent.append(dict(kwargs.get("headers") or {}))
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


class Tokens:
    def __init__(self) -> None:
        self.issued = 0
        self.current: str | None = None

    def token(self) -> str:
        if self.current is None:
            self.issued += 1
            self.current = f"tok{self.issued}"
        return self.current

    def invalidate(self, token: str) -> None:
        if token == self.current:
            self.current = None


def send(script: list, **policy) -> tuple[requests.Response, list[float], ScriptedSession]:
    sleeps: list[float] = []
    session = ScriptedSession(script)
    retry = http.RetryPolicy(sleep=sleeps.append, **policy)
    return retry.send(session, "GET", "http://api.test/x", what="test call"), sleeps, session


@pytest.mark.parametrize(("headers", "wait"), [
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": "0"}, http.MIN_SERVER_WAIT),  # "under a second", not "now"
    ({"Retry-After": "100000"}, http.MAX_SERVER_WAIT),
    ({"X-RateLimit-Reset": "12"}, 12.0),  # on a 429, Remaining or not
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}, http.MIN_SERVER_WAIT),
])
def test_a_429_waits_as_the_server_says_never_less_than_a_second(headers, wait):
    response, sleeps, _ = send([answer(429, **headers), answer(200)])
    assert response.status_code == 200
    assert sleeps == [wait]


def test_a_5xx_with_retry_after_0_waits_a_second_too():
    _, sleeps, _ = send([answer(503, **{"Retry-After": "0"}), answer(200)])
    assert sleeps == [http.MIN_SERVER_WAIT]


def test_without_a_usable_hint_the_wait_is_our_backoff(monkeypatch):
    monkeypatch.setattr(http, "backoff_delay", lambda attempt: 0.25 * attempt)
    date = "Wed, 21 Oct 2026 07:28:00 GMT"  # an HTTP-date: not a number of seconds
    _, sleeps, _ = send([answer(502), answer(429, **{"Retry-After": date}),
                         requests.ConnectionError("reset"), answer(200)])
    assert sleeps == [0.25, 0.25, 0.5]  # 5xx attempt 1, 429 number 1, failure 2


def test_429s_do_not_use_up_the_budget_of_5xx_answers():
    script = [answer(429, **{"Retry-After": "1"})] * 12 + [answer(500)] * 2 + [answer(200)]
    response, sleeps, _ = send(script, max_tries=3)
    assert response.status_code == 200
    assert len(sleeps) == 14


def test_the_budgets_run_out_with_their_messages(monkeypatch):
    monkeypatch.setattr(http, "backoff_delay", lambda attempt: 0.0)
    with pytest.raises(ApiError, match=r"^test call: gave up after 3 attempts, last answer "
                       r"HTTP 503\. The API is unavailable or overloaded; run again later\.$"):
        send([answer(503)] * 3, max_tries=3)
    with pytest.raises(ApiError, match=r"connection to api\.test failed: check the URL settings"):
        send([requests.ConnectionError("refused")] * 3, max_tries=3)
    with pytest.raises(ApiError, match=r"^test call: still rate limited after 5 tries"):
        send([answer(429)] * 5, max_throttled=4)


def test_a_401_renews_the_token_once_then_is_the_callers_to_judge():
    tokens = Tokens()
    response, sleeps, session = send([answer(401), answer(200)], tokens=tokens)
    assert response.status_code == 200
    assert [h["Authorization"] for h in session.sent] == ["Bearer tok1", "Bearer tok2"]
    assert sleeps == []
    response, _, _ = send([answer(401), answer(401)], tokens=Tokens())
    assert response.status_code == 401


def test_without_tokens_no_authorization_header_is_added():
    _, _, session = send([answer(401)])
    assert session.sent == [{}]
