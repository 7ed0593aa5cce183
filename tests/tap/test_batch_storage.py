"""BATCH mode into object storage: batch files on a real S3-compatible server (moto's server
mode, a subprocess on a free port) through fsspec/s3fs, compared with the sandbox's truth.

Checked: the records read back from the bucket equal the truth exactly (`Tally`: count,
checksum, metric sums); one date per BATCH message, announced before the STATE that commits
it; two streams writing files at the same time lose none; and a `kill -9` in the middle of
a date leaves files on the server that no BATCH message names, every announced date is
complete, and a run resumed from the last STATE completes the truth.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
import uuid
from collections import defaultdict

import orjson
import pytest
from helpers.run import clean_env, command, run_tap, write_inputs
from helpers.singer import BULK_KEYS, Output, bookmarks_of, duplicate_keys, tally
from singer_sdk.helpers._batch import BatchConfig

from tap_spotify_bulk.output import BatchRecords

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

s3fs = pytest.importorskip("s3fs")  # the `batch-s3` extra (in `dev`)
boto3 = pytest.importorskip("boto3")  # installed with moto[server]

D = dt.date
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}  # fake: the server accepts any
STREAMS = ["streams", "tracks", "aggregated_streams_count", "aggregated_streams_skips"]


class S3Server:
    """`python -m moto.server` on 127.0.0.1 and a free port; one bucket per test."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                assert self.process.poll() is None, "moto server exited"
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        self.client = boto3.client("s3", endpoint_url=self.endpoint,
                                   aws_access_key_id="testing",
                                   aws_secret_access_key="testing", region_name="us-east-1")

    def bucket(self) -> str:
        name = f"batch-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, url: str) -> list[dict]:
        bucket, key = url.removeprefix("s3://").split("/", 1)
        body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return [orjson.loads(line) for line in gzip.decompress(body).splitlines()]

    def params(self) -> dict[str, str]:
        """The SDK's `storage.params`: s3fs options."""
        return {"endpoint_url": self.endpoint, "key": "testing", "secret": "testing"}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.stop()


def batch_config(root: str, params: dict | None = None, batch_size: int = 300) -> dict:
    storage: dict[str, t.Any] = {"root": root, "prefix": "part-"}
    if params:
        storage["params"] = params
    return {"encoding": {"format": "jsonl", "compression": "gzip"}, "storage": storage,
            "batch_size": batch_size}


def batches(messages: Iterable[dict], read: t.Callable[[str], list[dict]],
            ) -> dict[tuple[str, str], list[dict]]:
    """{(stream, date): records} of every BATCH message, read back from storage. Checks on
    the way: one date per message, at most `batch_size` records per file, and each STATE
    that moves a bookmark to a date comes after that date's BATCH message."""
    landed: dict[tuple[str, str], list[dict]] = defaultdict(list)
    announced: dict[str, list[str]] = defaultdict(list)
    seen: dict[str, str] = {}
    for message in messages:
        if message["type"] == "BATCH":
            stream = message["stream"]
            records = [r for url in message["manifest"] for r in read(url)]
            dates = {r["report_date"] for r in records}
            assert len(dates) == 1, f"{stream}: one BATCH message with dates {sorted(dates)}"
            landed[(stream, dates.pop())] += records
            announced[stream].append(records[0]["report_date"])
        elif message["type"] == "STATE":
            for stream, mark in bookmarks_of(message["value"]).items():
                if mark != seen.get(stream) and stream in announced:
                    assert announced[stream][-1] == mark, f"{stream}: STATE before its BATCH"
                seen[stream] = mark
        assert message["type"] != "RECORD" or message["stream"] == "bulk_loads"
    return landed


def by_stream(landed: dict[tuple[str, str], list[dict]]) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = defaultdict(list)
    for (stream, _), records in sorted(landed.items()):
        rows[stream] += records
    return rows


def test_sync_to_s3_lands_exactly_the_truth(sandbox_factory, s3, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 4), countries=("SE", "NO", "DE"), empty_day_rate=0.0)
    bucket = s3.bucket()
    config = sb.tap_config(batch_config=batch_config(f"s3://{bucket}/runs", s3.params()))
    run = run_tap(config, streams=[*STREAMS, "bulk_loads"], sandbox=sb)
    landed = batches(run.messages, s3.read)
    rows = by_stream(landed)
    for stream, records in rows.items():
        if stream in BULK_KEYS:
            assert not duplicate_keys(stream, records), stream
    truth = sb.bulk_truth(streams=STREAMS)
    assert {name: tally(name, rows[name]) for name in STREAMS} == truth
    # the load manifest: one per stream and date (and country), itself a BATCH
    assert {(r["stream"], r["report_date"]) for r in rows["bulk_loads"]} == {
        (name, f"2024-03-0{day}") for name in STREAMS for day in range(1, 5)}
    announced = {f"s3://{bucket}/{key}" for key in s3.keys(bucket)}
    assert announced == {url for m in run.messages if m["type"] == "BATCH"
                         for url in m["manifest"]}  # every file written was announced
    assert all(key.startswith("runs/part-") for key in s3.keys(bucket))


@pytest.mark.parametrize("where", ["s3", "file"])
def test_files_written_at_the_same_time_are_all_kept(s3, tmp_path, where):
    """Streams sharing a read (the aggregated ones) keep files open at the same time, each
    across several buffer flushes (records of ~1.3 MB per file)."""
    root = (f"s3://{s3.bucket()}/x" if where == "s3" else f"file://{tmp_path}/nested/root")
    config = BatchConfig.from_dict(batch_config(root, s3.params() if where == "s3" else None,
                                                batch_size=1500))
    writers = [BatchRecords(config, "tap", name) for name in ("a", "b", "c")]
    for i in range(4000):
        for n, writer in enumerate(writers):
            writer.write({"n": n, "i": i, "pad": "x" * 900})
    for n, writer in enumerate(writers):
        urls = writer.finish()
        assert len(urls) == 3  # 1500 + 1500 + 1000
        if where == "s3":
            records = [r for url in urls for r in s3.read(url)]
        else:
            records = []
            for url in urls:
                with gzip.open(url.removeprefix("file://")) as lines:
                    records += [orjson.loads(line) for line in lines]
        assert [(r["n"], r["i"]) for r in records] == [(n, i) for i in range(4000)]


def test_kill_mid_date_leaves_no_batch_for_it_and_resume_completes(sandbox_factory, s3,
                                                                   tmp_path):
    """The endpoint comes from the standard AWS variables here, as a target would read it."""
    sb = sandbox_factory(end=D(2024, 3, 6), countries=("SE", "NO", "DE", "FI", "DK"),
                         scale=3000, empty_day_rate=0.0, latency_ms=150)
    bucket = s3.bucket()
    config = sb.tap_config(batch_config=batch_config(f"s3://{bucket}/kill", batch_size=100),
                           max_workers=1)
    env = clean_env({**CREDENTIALS, "AWS_ENDPOINT_URL": s3.endpoint, "TMPDIR": str(tmp_path)})
    argv = [*command(), *write_inputs(tmp_path / "in", config, streams=["streams"])]
    killed = run_until_unannounced_file(argv, env, s3, bucket)
    messages = Output.parse(killed.raw).messages
    landed = batches(messages, s3.read)
    assert landed, "killed before any date was complete"
    announced = {url for m in messages if m["type"] == "BATCH" for url in m["manifest"]}
    orphans = {f"s3://{bucket}/{key}" for key in s3.keys(bucket)} - announced
    assert orphans, "the kill did not land in the middle of a date"
    orphan_dates = {r["report_date"] for url in orphans for r in s3.read(url)}
    assert not orphan_dates & {date for _, date in landed}  # no BATCH for a half date
    for (stream, date), records in landed.items():  # every announced date is complete
        if stream == "streams":
            assert tally(stream, records) == sb.bulk_truth(date, date, streams=[stream])[stream]
    state = Output.parse(killed.raw).state
    assert bookmarks_of(state)["streams"] == max(date for _, date in landed)

    argv = [*command(), *write_inputs(tmp_path / "in", config, state, streams=["streams"])]
    done = subprocess.run(argv, capture_output=True, env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    resumed = by_stream(batches(Output.parse(done.stdout).messages, s3.read))["streams"]
    assert not duplicate_keys("streams", resumed)
    table = {}  # what a target holds: upserted on the primary key, the resumed run last
    for row in [*by_stream(landed)["streams"], *resumed]:
        table[tuple(row[k] for k in BULK_KEYS["streams"])] = row
    assert tally("streams", table.values()) == sb.bulk_truth(streams=["streams"])["streams"]


class Killed(t.NamedTuple):
    raw: bytes


def run_until_unannounced_file(argv: list[str], env: dict[str, str], s3: S3Server,
                               bucket: str) -> Killed:
    """Run the tap; once a date has been announced, `kill -9` it as soon as the bucket holds
    a file that no BATCH message printed so far names (a date half written)."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=env)
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    raw = b""
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None and time.monotonic() < deadline:
            raw += process.stdout.read() or b""
            complete = raw[: raw.rfind(b"\n") + 1]
            announced = {url for m in Output.parse(complete).messages if m["type"] == "BATCH"
                         for url in m["manifest"]}
            if announced and {f"s3://{bucket}/{k}" for k in s3.keys(bucket)} - announced:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        process.wait(30)
        raw += process.stdout.read() or b""
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return Killed(raw[: raw.rfind(b"\n") + 1])
