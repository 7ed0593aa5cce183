"""The floor: the Streams report as Singer RECORD lines with orjson and no SDK at all.

`python -m benchmarks.floor CONFIG.json` does the least work an extractor of these files
can do: one token, the day and country listings, concurrent downloads (following the 303
to the signed URL without the Authorization header), streaming gunzip, orjson parse, the
tap's added columns, orjson serialisation into a buffered stdout. No schema, no state,
no retries, no type checks. It logs its record count on stderr as the Singer SDK logs its
metrics (`METRIC: {"type": "counter", "metric": "record_count", ...}`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import typing as t
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import orjson
import requests

if t.TYPE_CHECKING:
    from collections.abc import Iterator

CHUNK = 1 << 20
FLUSH_AT = 1 << 20


class Api:
    """Token, listings and downloads against a Bulk API (happy path only)."""

    def __init__(self, config: dict[str, t.Any]) -> None:
        self.base = f"{config['bulk_api_url'].rstrip('/')}/{config['licensor']}/enhanced"
        response = requests.post(
            config["token_url"], data={"grant_type": "client_credentials"},
            auth=(config["client_id"], config["client_secret"]), timeout=60,
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def children(self, relative: str, session: requests.Session) -> list[str]:
        response = session.get(f"{self.base}/{relative}", headers=self.headers, timeout=60)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return [item["uri"].rstrip("/").rsplit("/", 1)[-1] for item in response.json()]

    def download(self, relative: str, session: requests.Session) -> bytes:
        response = session.get(f"{self.base}/{relative}", headers=self.headers, timeout=300,
                               allow_redirects=False, stream=True)
        if response.status_code in (302, 303, 307):
            response.close()
            response = session.get(response.headers["Location"], timeout=300, stream=True)
        response.raise_for_status()
        with response:  # large reads, the body as sent (the gzip is the file)
            return b"".join(response.raw.stream(CHUNK, decode_content=False))


def lines_of(data: bytes) -> Iterator[bytes]:
    """Non-empty lines of a gzip NDJSON body, inflated chunk by chunk."""
    inflate = zlib.decompressobj(31)
    pending = b""
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        chunk = inflate.decompress(view[start:start + CHUNK])
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        yield from (line for line in parts if line.strip())
    pending += inflate.flush()
    if pending.strip():
        yield pending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor")
    parser.add_argument("config", type=Path)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    config = orjson.loads(args.config.read_bytes())
    api = Api(config)
    session = requests.Session()
    start = dt.date.fromisoformat(config["start_date"])
    end = dt.date.fromisoformat(config["end_date"])
    jobs = []
    day = start
    while day <= end:
        path = f"streams/{day:%Y/%m/%d}"
        jobs += [(day, code, f"{path}/{code}") for code in sorted(api.children(path, session))]
        day += dt.timedelta(days=1)

    out = sys.stdout.buffer
    buffer = bytearray()
    dumps = orjson.dumps
    licensor = config["licensor"]
    prefix = b'{"type":"RECORD","stream":"streams","record":'
    total = 0
    local = threading.local()

    def fetch(relative: str) -> bytes:
        if not hasattr(local, "session"):  # one session per worker thread
            local.session = requests.Session()
        return api.download(relative, local.session)

    with ThreadPoolExecutor(args.workers) as pool:
        queue: deque[tuple[dt.date, str, Future[bytes]]] = deque()
        pending = iter(jobs)
        while True:
            while len(queue) < args.workers + 2 and (job := next(pending, None)):
                queue.append((job[0], job[1], pool.submit(fetch, job[2])))
            if not queue:
                break
            day, country, future = queue.popleft()
            suffix = (b',"time_extracted":' + dumps(dt.datetime.now(dt.UTC).isoformat())
                      + b"}\n")
            report_date = day.isoformat()
            row = 0
            for line in lines_of(future.result()):
                record = orjson.loads(line)
                row += 1
                record["country"] = country
                record["licensor"] = licensor
                record["report_date"] = report_date
                record["row_number"] = row
                record["extra"] = None
                buffer += prefix
                buffer += dumps(record)
                buffer += suffix
                if len(buffer) >= FLUSH_AT:
                    out.write(buffer)
                    buffer.clear()
            total += row
    out.write(buffer)
    out.flush()
    point = {"type": "counter", "metric": "record_count", "value": total,
             "tags": {"stream": "streams"}}
    print(f"METRIC: {json.dumps(point)}", file=sys.stderr)  # the SDK's metric form
    return 0


if __name__ == "__main__":
    sys.exit(main())
