"""Progress of long runs, for people and for orchestrators.

Each finished step (a Bulk report date, an Ads report window) logs one line, e.g.
`streams: 2024-03-12 done (date 12 of 30), 40211 records, 38000 records/s, ETA 0:00:19`,
and one singer-sdk METRIC line on the SDK's metrics logger, which Meltano and other
orchestrators already parse:
`METRIC: {"type":"progress","metric":"bulk_dates","value":12,"tags":{"stream":"streams",
"planned":30,"step":"2024-03-12","records":40211,"records_per_second":38000.0,
"eta_seconds":19.1}}`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
import typing as t

from singer_sdk import metrics

LOGGER = logging.getLogger("tap_spotify_bulk.progress")


class ProgressMetric(enum.StrEnum):
    """Metric names of the progress METRIC lines."""

    BULK_DATES = "bulk_dates"
    ADS_WINDOWS = "ads_windows"


class Progress:
    """Steps done of steps planned for one stream (or one group of streams read together)."""

    def __init__(self, label: str, planned: int, metric: ProgressMetric, unit: str,
                 **tags: t.Any) -> None:
        self.label = label
        self.planned = planned
        self.metric = metric
        self.unit = unit
        self.tags = tags
        self.done = 0
        self.records = 0
        self.started = time.monotonic()

    def step(self, name: str, records: int) -> None:
        """One more step done: `name` (e.g. the date) with `records` records."""
        self.done += 1
        self.records += records
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.records / elapsed
        eta = elapsed / self.done * max(self.planned - self.done, 0)
        LOGGER.info("%s: %s done (%s %d of %d), %d records, %.0f records/s, ETA %s",
                    self.label, name, self.unit, self.done, self.planned, records, rate,
                    dt.timedelta(seconds=round(eta)))
        metrics.log(metrics.get_metrics_logger(), metrics.Point(
            "progress", self.metric, self.done,  # type: ignore[arg-type]
            {"stream": self.label, **self.tags, "planned": self.planned, "step": name,
             "records": records, "records_per_second": round(rate, 1),
             "eta_seconds": round(eta, 1)}))
