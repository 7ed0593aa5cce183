"""The one retry policy (`http.RetryPolicy`) shared by the token, Bulk and Ads clients:
wait hints, budgets, backoff, timeouts and the 401 hook, against the figures of
api-contract §4.4, on scripted answers (no network: the session answers from a list of
`requests.Response` objects built here)."""

from __future__ import annotations

import dataclasses
import logging
import random
import typing as t

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
        self.timeouts: list = []

    def request(self, method, url, **kwargs):  # type: ignore[override]
        self.sent.append(dict(kwargs.get("headers") or {}))
        self.timeouts.append(kwargs.get("timeout"))
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


def send(script: list, *, timeout: t.Any = None,
         **policy) -> tuple[requests.Response, list[float], ScriptedSession]:
    sleeps: list[float] = []
    session = ScriptedSession(script)
    retry = http.RetryPolicy(sleep=sleeps.append, **policy)
    extra = {} if timeout is None else {"timeout": timeout}
    response = retry.send(session, "GET", "http://api.test/x", what="test call", **extra)
    return response, sleeps, session


# The server's wait hints are obeyed from 1 s to 300 s (api-contract §4.4).
@pytest.mark.parametrize(("headers", "wait"), [
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": "0"}, 1.0),  # "under a second", not "now"
    ({"Retry-After": "300"}, 300.0),
    ({"Retry-After": "301"}, 300.0),
    ({"Retry-After": "100000"}, 300.0),
    ({"X-RateLimit-Reset": "12"}, 12.0),  # on a 429, Remaining or not
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}, 1.0),
])
def test_a_429_waits_as_the_server_says_never_less_than_a_second(headers, wait):
    response, sleeps, _ = send([answer(429, **headers), answer(200)])
    assert response.status_code == 200
    assert sleeps == [wait]


def test_a_5xx_with_retry_after_0_waits_a_second_too():
    _, sleeps, _ = send([answer(503, **{"Retry-After": "0"}), answer(200)])
    assert sleeps == [1.0]


@pytest.mark.parametrize(("remaining", "waits"), [("0", [12.0]), ("3", [0.125])])
def test_a_5xx_waits_the_rate_limit_reset_only_when_the_budget_is_spent(
        monkeypatch, remaining, waits):
    """`X-RateLimit-Reset` on an answer that is not a 429 is a wait only with
    `X-RateLimit-Remaining: 0`; with budget left the 5xx gets our own backoff."""
    monkeypatch.setattr(http, "backoff_delay", lambda attempt: 0.125)
    headers = {"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": "12"}
    response, sleeps, _ = send([answer(503, **headers), answer(200)])
    assert response.status_code == 200
    assert sleeps == waits


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_the_transient_5xx_answers_are_retried(status):
    response, sleeps, session = send([answer(status), answer(200)])
    assert response.status_code == 200
    assert (len(sleeps), len(session.sent)) == (1, 2)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 501, 505])
def test_any_other_answer_goes_back_to_the_caller_at_once(status):
    response, sleeps, session = send([answer(status), answer(200)])
    assert response.status_code == status
    assert (sleeps, len(session.sent)) == ([], 1)


def test_backoff_is_full_jitter_under_a_cap_doubling_from_half_a_second_to_60_s():
    """api-contract §4.4: without a hint, the wait before try n+1 is drawn from 0.25 s to
    min(60 s, 0.5 s x 2^(n-1)), over the whole of that range."""
    saved = random.getstate()
    random.seed(20261203)
    try:
        draws = {n: [http.backoff_delay(n) for _ in range(400)] for n in range(1, 13)}
    finally:
        random.setstate(saved)
    for attempt, waits in draws.items():
        cap = min(60.0, 0.5 * 2 ** (attempt - 1))
        assert all(0.25 <= wait <= cap for wait in waits), attempt
        spread = cap - 0.25
        assert max(waits) > cap - spread / 10, attempt
        assert min(waits) < 0.25 + spread / 10, attempt


def test_every_try_gives_up_after_10_s_without_a_connection_and_120_s_without_an_answer():
    """A server that accepts the connection and never answers must not hang a run; a
    caller's own timeout wins."""
    _, _, session = send([answer(503), requests.ConnectionError("reset"), answer(200)])
    assert session.timeouts == [(10, 120)] * 3
    _, _, session = send([answer(503), answer(200)], timeout=(1, 2))
    assert session.timeouts == [(1, 2), (1, 2)]


def test_429s_without_a_hint_wait_our_backoff_of_at_most_16_s():
    saved = random.getstate()
    random.seed(20261203)
    try:
        response, sleeps, _ = send([answer(429)] * 60 + [answer(200)])
    finally:
        random.setstate(saved)
    assert response.status_code == 200
    assert all(0.25 <= wait <= 16.0 for wait in sleeps)
    assert max(sleeps) > 15.0


def test_every_wait_and_repeat_is_logged_with_the_call_the_cause_and_the_seconds(
        caplog, monkeypatch):
    monkeypatch.setattr(http, "backoff_delay", lambda attempt: 0.5)
    caplog.set_level(logging.INFO, logger="tap_spotify_bulk")
    script = [answer(429, **{"Retry-After": "7"}), answer(503), answer(401), answer(200)]
    response, _, _ = send(script, tokens=Tokens())
    assert response.status_code == 200
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "test call: rate limited (429), waiting 7.0s"),
        ("WARNING", "test call: HTTP 503 (attempt 1/8), retrying in 0.5s"),
        ("INFO", "test call: access token rejected (401); refreshing it"),
    ]


def test_the_shared_policy_cannot_be_altered_by_one_of_its_users():
    with pytest.raises(dataclasses.FrozenInstanceError):
        http.PLAIN.max_tries = 1  # type: ignore[misc]
    assert http.PLAIN.max_tries == 8


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


def test_by_default_200_429s_in_a_row_are_waited_out_and_the_201st_gives_up():
    response, sleeps, _ = send([answer(429)] * 200 + [answer(200)])
    assert response.status_code == 200
    assert len(sleeps) == 200
    with pytest.raises(ApiError, match=r"^test call: still rate limited after 201 tries; "
                       r"retry later\.$"):
        send([answer(429)] * 201)


def test_by_default_a_call_is_tried_8_times_in_all(monkeypatch):
    monkeypatch.setattr(http, "backoff_delay", lambda attempt: 0.0)
    response, sleeps, _ = send([answer(502)] * 7 + [answer(200)])
    assert response.status_code == 200
    assert len(sleeps) == 7
    with pytest.raises(ApiError, match=r"gave up after 8 attempts"):
        send([answer(502)] * 8)


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
