"""What a tap run said about itself: records per stream and days that answered 404.

The tap logs one `<stream>: done, N records in S s` line per Bulk stream at the end of its
sync and one line per report and day that answered 404 (`<streams>: <day> is not published
yet (404) ...` or `<streams>: <day> has no data (404)`, naming the streams read from that
report: the four aggregated streams share one); the SDK logs `METRIC: {... "record_count"
...}` lines for every stream (the Ads streams' only count). These are the counts in
Dagster's materialization metadata.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

DONE = re.compile(r"\b([a-z0-9_]+): done, (\d+) records in ([0-9.]+)s")
MISSING = re.compile(r"\b([a-z0-9_]+(?:, [a-z0-9_]+)*): (\d{4}-\d{2}-\d{2}) "
                     r"(?:is not published yet|has no data) \(404\)")
METRIC = re.compile(r"METRIC: (\{.*\})")


@dataclass
class TapLog:
    """Counts and 404 days (in all, and per stream) read from a tap's log."""

    done: dict[str, int] = field(default_factory=dict)
    metrics: Counter[str] = field(default_factory=Counter)
    missing_days: set[str] = field(default_factory=set)
    missing: dict[str, set[str]] = field(default_factory=dict)  # stream: days that were 404
    lines: list[str] = field(default_factory=list)  # the summary and 404 lines

    @classmethod
    def parse(cls, text: str) -> TapLog:
        log = cls()
        for line in text.splitlines():
            if done := DONE.search(line):
                log.done[done.group(1)] = int(done.group(2))
                log.lines.append(line.strip())
            elif missing := MISSING.search(line):
                day = missing.group(2)
                log.missing_days.add(day)
                for stream in missing.group(1).split(", "):
                    log.missing.setdefault(stream, set()).add(day)
                log.lines.append(line.strip())
            elif metric := METRIC.search(line):
                log._add_metric(metric.group(1))
        return log

    def _add_metric(self, text: str) -> None:
        try:
            point = json.loads(text)
        except ValueError:
            return
        if point.get("metric") == "record_count":
            stream = (point.get("tags") or {}).get("stream")
            if stream:
                self.metrics[stream] += int(point.get("value") or 0)

    @property
    def records(self) -> dict[str, int]:
        """Records per stream: the tap's own summary where it wrote one, else the SDK's."""
        return {**dict(self.metrics), **self.done}

    @property
    def total(self) -> int:
        return sum(self.records.values())
