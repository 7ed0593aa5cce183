"""Kill and resume on the Ads entity streams (`businesses`, `ad_accounts`, `campaigns`,
`ad_sets`, `ads`): `kill -9` the tap right after the N-th record of each stream in turn
(in the order the SDK syncs them, by name; N seeded-random, in the first ad account's part
of the list in the first round and in the second's in the second round), resuming each
time from the last STATE it printed, on two ad accounts of 50 campaigns x 5 ad sets x 10
ads each (5,604 entities).

Checked after every kill:

* the kill landed where it was aimed: at least N records of that stream were read;
* the bookmark is never ahead of the data: for each ad account with an `updated_at`
  bookmark in the STATE to resume from, the records of that account emitted since the
  last start from empty state, upserted on `id`, equal that account's truth whole (an
  account's list is read newest first, so a bookmark means the list was read to the end),
  and the bookmark is the newest `updated_at` among them;
* an account whose list the run had finished (it went on to the next account) has its
  bookmark in that STATE: a kill loses at most the account being read.

Each round starts from empty state and ends with a run to the end (as does a run that
ends before its kill point): the outputs of that cycle (its killed runs and the last run),
upserted on `id`, equal the sandbox's truth of every entity stream: every id, each at its
latest `updated_at` version, nothing missing, nothing extra; no id twice within one run;
each account's bookmark is its newest `updated_at`. Then entities are edited (`touch`)
and a run from the final state emits exactly the entities updated at or after each
account's bookmark (the edits and what sits on the bookmark) plus the two snapshots, with
one list request per stream and account. Nothing printed leaks a secret.
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import signal
import typing as t

from helpers.run import clean_env, command, write_inputs
from helpers.secrets import assert_no_secrets, secrets_of, unique_credentials
from helpers.watched import run_until_killed
from spotify_sandbox.tally import Tally

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from helpers.singer import Output
    from helpers.watched import Watched

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
WORLD = {"n_businesses": 2, "shared_account": False, "campaigns_per_account": 50,
         "ad_sets_per_campaign": 5, "ads_per_ad_set": 10}
ENTITIES = ("businesses", "ad_accounts", "campaigns", "ad_sets", "ads")
SYNC_ORDER = tuple(sorted(ENTITIES))  # the SDK syncs streams by name
INCREMENTAL = ("campaigns", "ad_sets", "ads")
ROUNDS = 2  # kills aimed at each stream: inside the first ad account, then the second
SEED = 20260615


def landed(stream: str, records: Iterable[dict]) -> dict:
    """Tally of what a target holds after upserting `records` in order on `id`."""
    latest = {r["id"]: r for r in records}
    return Tally.for_ads_entity_stream(stream).add_all(latest.values()).summary()


def bookmarks(state: dict | None) -> dict[tuple[str, str], str]:
    """{(stream, ad account): `updated_at` bookmark} of a Singer state."""
    marks = (state or {}).get("bookmarks", {})
    return {(stream, p["context"]["ad_account_id"]): p["replication_key_value"]
            for stream in INCREMENTAL
            for p in marks.get(stream, {}).get("partitions", [])
            if p.get("replication_key_value")}


def after_records(stream: str, n: int) -> Callable[[bytes], bool]:
    """True for the stdout line that is the n-th RECORD of `stream`."""
    prefix = b'{"type":"RECORD","stream":"%s"' % stream.encode()
    seen = [0]

    def check(line: bytes) -> bool:
        if line.startswith(prefix):
            seen[0] += 1
        return seen[0] == n

    return check


def records_of(runs: Iterable[Output], stream: str, account: str | None = None) -> list[dict]:
    return [r for run in runs for r in run.records[stream]
            if account is None or r.get("ad_account_id") == account]


def assert_no_id_twice(run: Output) -> None:
    for stream in ENTITIES:
        counts = collections.Counter(r["id"] for r in run.records[stream])
        assert [i for i, n in counts.items() if n > 1] == [], f"{stream}: an id twice"


def test_kill_9_after_n_records_of_each_entity_stream_and_resume(sandbox_factory,
                                                                  tmp_path: Path, figures):
    sb = sandbox_factory(ads={"now": NOW, **WORLD}, **unique_credentials())
    api = sb.ads_api
    accounts = api.world.account_ids
    assert len(accounts) == 2
    config = sb.tap_config()
    truth = api.entity_truth(ENTITIES)
    truth_by_account = {(s, a): api.entity_truth([s], accounts=[a])[s]
                        for s in INCREMENTAL for a in accounts}
    sizes = {s: truth[s]["count"] for s in ENTITIES}
    assert sizes == {"businesses": 2, "ad_accounts": 2, "campaigns": 100, "ad_sets": 500,
                     "ads": 5000}
    env = clean_env({"TMPDIR": str(tmp_path)})
    rng = random.Random(SEED)

    def run(state: dict | None, **kill: t.Any) -> Watched:
        argv = [*command(), *write_inputs(tmp_path / "inputs", config, state, ENTITIES)]
        done = run_until_killed(argv, env, timeout=180, **kill)
        outputs.append(done)
        assert_no_id_twice(done.output)
        return done

    def assert_cycle_exact(cycle: list[Output]) -> None:
        for stream in ENTITIES:
            rows = records_of(cycle, stream)
            truth_ids = {r["id"] for r in api.lists.records(stream)}
            assert {r["id"] for r in rows} == truth_ids, f"{stream}: ids differ"
            assert landed(stream, rows) == truth[stream], stream

    def kill_point(stream: str | None, round_: int) -> int:
        """N for `stream` in round `round_`: within the first account's half of the list,
        then within the second's, at most 90 % in (the tap is still writing then)."""
        if stream is None:  # the run to the end of the round
            return 0
        if stream not in INCREMENTAL:
            return rng.randint(1, sizes[stream] - 1)
        half = sizes[stream] // 2
        return rng.randint(1, half) if round_ == 0 else rng.randint(half + 1,
                                                                     sizes[stream] * 9 // 10)

    newest = {(s, a): max(r["updated_at"] for r in api.lists.records(s, [a]))
              for s in INCREMENTAL for a in accounts}
    # Each round starts from empty state, kills once per stream, then runs to the end.
    plan = [(s, kill_point(s, r)) for r in range(ROUNDS) for s in [*SYNC_ORDER, None]]
    outputs: list[Watched] = []
    state: dict | None = None
    cycle: list[Output] = []  # runs since the last start from empty state
    kill_points: list[str] = []
    completed_cycles = 0
    final: Watched | None = None
    pending = list(plan)
    while pending:
        assert len(outputs) < 2 * len(plan), (
            f"only {len(kill_points)} of {len(plan) - ROUNDS} kills landed")
        stream, n = pending[0]
        done = run(state, when=None if stream is None else after_records(stream, n))
        cycle.append(done.output)
        if not done.killed:  # the end of a round, or it finished before its kill point
            assert done.returncode == 0, done.stderr[-3000:]
            assert "Traceback" not in done.stderr
            order = list(dict.fromkeys(m["stream"] for m in done.output.messages
                                       if m["type"] == "RECORD"))
            assert order == [s for s in SYNC_ORDER if s in order]  # the plan's assumption
            assert_cycle_exact(cycle)  # a whole cycle equals the truth
            assert bookmarks(done.output.state) == newest
            final = done
            completed_cycles += 1
            state, cycle = None, []
            if stream is None:
                pending.pop(0)
            continue
        assert stream is not None
        assert done.returncode == -signal.SIGKILL
        assert len(done.output.records[stream]) >= n, (stream, n)
        pending.pop(0)
        state = done.output.state or state
        marks = bookmarks(state)
        for (name, account), mark in marks.items():  # never ahead of the data
            rows = records_of(cycle, name, account)
            assert landed(name, rows) == truth_by_account[name, account], (name, account)
            assert mark == max(r["updated_at"] for r in rows), (name, account)
        for name in INCREMENTAL:  # an account the run moved past is committed
            seen = list(dict.fromkeys(r["ad_account_id"] for r in done.output.records[name]))
            for account in seen[:-1]:
                assert (name, account) in marks, f"{name}: {account} done, not in the STATE"
        kill_points.append(f"{stream} after {n} (bookmarks: {len(marks)})")

    assert final is not None
    state = final.output.state

    # Edits after the end: the next run emits exactly what changed since each bookmark.
    edited = {"campaigns": [api.world.entities(accounts[0], "CAMPAIGN")[7]],
              "ad_sets": [api.world.entities(accounts[1], "AD_SET")[123]],
              "ads": [api.world.entities(a, "AD")[i] for a in accounts for i in (3, 2499)]}
    latest = max(dt.datetime.fromisoformat(mark) for mark in newest.values())
    for number, entity in enumerate(e for group in edited.values() for e in group):
        api.lists.touch(entity.id, latest + dt.timedelta(minutes=1 + number))
    api.stats.clear()
    again = run(state)
    assert not again.killed
    assert again.returncode == 0, again.stderr[-3000:]
    for stream in INCREMENTAL:
        expected = [r for a in accounts for r in api.lists.records(stream, [a])
                    if r["updated_at"] >= newest[stream, a]]
        rows = again.output.records[stream]
        assert {e.id for e in edited[stream]} <= {r["id"] for r in rows}, stream
        assert landed(stream, rows) == Tally.for_ads_entity_stream(stream).add_all(
            expected).summary(), stream
        assert len(rows) < sizes[stream] // 10, stream
    for stream in ("businesses", "ad_accounts"):  # full snapshots every run
        assert landed(stream, again.output.records[stream]) == truth[stream], stream
    list_requests = 1 + len(api.world.businesses) + len(INCREMENTAL) * len(accounts)
    assert api.stats["requests"] == list_requests

    secrets = secrets_of(sb)
    for done in outputs:
        assert_no_secrets(secrets, done.output.raw, done.stderr)
    assert len(kill_points) == len(plan) - ROUNDS
    figures("kill and resume, Ads entities", kills=len(kill_points),
            completed_cycles_checked=completed_cycles,
            records_in_the_truth=sum(sizes.values()),
            records_emitted_after_edits=sum(len(again.output.records[s]) for s in ENTITIES),
            requests_after_edits=api.stats["requests"])
    print(f"entity kill points: {kill_points}; completed cycles: {completed_cycles}")
