"""`kill -9` in the middle of a day's read: that day gets no `bulk_loads` manifest record, the
days finished before it have theirs (ahead of their STATE), and the resumed run writes the
missing one under a newer load id, with the full day's counts."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from collections import Counter

from helpers.run import clean_env, command, write_inputs
from helpers.singer import LOADS_STREAM, Output, bookmarks_of

D = dt.date


def test_a_day_killed_mid_read_gets_no_manifest_until_it_is_read_again(sandbox_factory,
                                                                        tmp_path):
    # A streams day is ~3 MB of output, so the tap's 1 MB buffer reaches the pipe mid-day;
    # 40 ms per request keeps the day's 25 country files from finishing before the kill.
    sb = sandbox_factory(end=D(2024, 3, 4), empty_day_rate=0.0, scale=6000, latency_ms=40)
    config = sb.tap_config(lookback_days=0, max_workers=2)
    argv = [*command(), *write_inputs(tmp_path, config, streams=["streams", LOADS_STREAM])]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=clean_env())
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if b'"report_date":"2024-03-02"' in line:  # the first output of the second day
            process.send_signal(signal.SIGKILL)
            break
    lines += process.stdout.readlines()
    process.wait(timeout=60)
    complete = b"".join(line for line in lines if line.endswith(b"\n"))
    first = Output.parse(complete)

    emitted = Counter(r["report_date"] for r in first.records["streams"])
    truth = {day: sb.bulk_truth(day, day, streams=["streams"])["streams"]["count"]
             for day in ("2024-03-01", "2024-03-02")}
    assert emitted["2024-03-01"] == truth["2024-03-01"]
    assert 0 < emitted["2024-03-02"] < truth["2024-03-02"]  # killed mid-day
    assert [(r["stream"], r["report_date"], r["records"]) for r in first.loads] == [
        ("streams", "2024-03-01", truth["2024-03-01"])]
    assert first.bookmarks() == {"streams": "2024-03-01"}
    kinds = [(m["type"], m.get("stream")) for m in first.messages]
    moved = next(i for i, m in enumerate(first.messages) if m["type"] == "STATE"
                 and bookmarks_of(m["value"]).get("streams") == "2024-03-01")
    assert kinds.index(("RECORD", LOADS_STREAM)) < moved

    argv = [*command(), *write_inputs(tmp_path, config, first.state,
                                      streams=["streams", LOADS_STREAM])]
    done = subprocess.run(argv, capture_output=True, timeout=180, env=clean_env(),
                          check=True)
    second = Output.parse(done.stdout)
    again = {r["report_date"]: r for r in second.loads}
    assert sorted(again) == ["2024-03-02", "2024-03-03", "2024-03-04"]
    assert again["2024-03-02"]["records"] == truth["2024-03-02"]
    assert again["2024-03-02"]["load_id"] > first.loads[0]["load_id"]
