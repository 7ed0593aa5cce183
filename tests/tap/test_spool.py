"""The byte budget of downloaded files (`bulk.spool`): the file read next always proceeds,
the others wait for room; a cancelled run wakes them; a `Content-Length` is reserved before
the first byte is written (a real download from the sandbox)."""

from __future__ import annotations

import datetime as dt
import gzip
import threading

import pytest

from tap_spotify_bulk.bulk.runtime import BulkRuntime
from tap_spotify_bulk.bulk.spool import ByteBudget, DownloadCancelled

WAIT = 0.5  # seconds a blocked thread is given to show that it is blocked


def in_thread(target) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(target())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_the_oldest_file_proceeds_over_the_budget_and_later_ones_wait():
    budget = ByteBudget(100)
    first, second, third = budget.ticket(), budget.ticket(), budget.ticket()
    second.cover(80)  # fits
    first.cover(150)  # over the budget, but the file read next never waits
    assert budget.used == 230
    thread, outcome = in_thread(lambda: third.cover(10))
    thread.join(WAIT)
    assert thread.is_alive()  # 230 + 10 > 100, and it is not the oldest
    first.release()  # read and closed: 80 used
    thread.join(5)
    assert not thread.is_alive()
    assert outcome == [None]
    assert (budget.used, budget.peak) == (90, 230)


def test_a_cancelled_run_wakes_a_download_waiting_for_room():
    cancelled = threading.Event()
    budget = ByteBudget(10, cancelled)
    older, waiting = budget.ticket(), budget.ticket()
    older.cover(10)
    thread, outcome = in_thread(lambda: waiting.cover(5))
    thread.join(WAIT)
    assert thread.is_alive()
    cancelled.set()
    thread.join(5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], DownloadCancelled)


def test_content_length_is_reserved_before_the_first_byte(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=dt.date(2024, 3, 1), empty_day_rate=0.0)
    body = gzip.compress(b'{"user_id": "u"}\n' * 2000)
    sb.options.overrides = {"/gyrostream/enhanced/users/2024/03/01": body}  # Content-Length
    client = BulkRuntime(sb.tap_config()).client
    budget = ByteBudget(len(body))
    older, ticket = budget.ticket(), budget.ticket()
    older.cover(1)  # one byte held by the file read before this one
    thread, outcome = in_thread(
        lambda: client.download("users/2024/03/01", tmp_path, ticket=ticket))
    thread.join(WAIT)
    assert thread.is_alive()  # the whole length does not fit next to that byte
    assert budget.used == 1  # and nothing of it was taken piecemeal
    older.release()
    thread.join(10)
    [downloaded] = outcome
    assert downloaded.size == len(body)
    assert budget.peak == len(body)
    downloaded.close()
    assert budget.used == 0


@pytest.mark.parametrize("limit", [None, 1])
def test_a_file_larger_than_the_budget_downloads_alone(sandbox_factory, tmp_path, limit):
    sb = sandbox_factory(end=dt.date(2024, 3, 1), empty_day_rate=0.0)
    client = BulkRuntime(sb.tap_config()).client
    budget = ByteBudget(limit)
    downloaded = client.download("users/2024/03/01", tmp_path, ticket=budget.ticket())
    assert downloaded is not None
    assert downloaded.size > 1
    assert budget.used == downloaded.size
    downloaded.close()
    assert budget.used == 0
