"""What exists on one Bulk day (`DayPlan`): its countries with their event counts and the
tracks streamed, as first delivered (`first_plan`) and as each restatement corrects it
(`restated_plan`). Pure functions of the seed and the data options."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spotify_sandbox.bulk_lines import lookup_table, seeded

if TYPE_CHECKING:
    from spotify_sandbox.catalogue import Track


@dataclass(frozen=True)
class DayPlan:
    """What exists on one day: countries with their event counts and the tracks streamed."""

    day: dt.date
    countries: tuple[str, ...]
    streams: dict[str, int]  # events per country in the streams file
    sub30: dict[str, int]  # events per country in the sub-30 file
    active: tuple[int, ...]  # catalogue indices of the tracks streamed that day
    track_table: tuple[int, ...]  # weighted lookup table over `active`


def first_plan(seed: int, day: dt.date, *, pool: tuple[str, ...], scale: int,
               empty_day_rate: float, tracks: tuple[Track, ...]) -> DayPlan | None:
    """The day as first delivered, None when it has no data (drawn at `empty_day_rate`)."""
    rng = seeded(seed, "day", day)
    if rng.random() < empty_day_rate:
        return None
    k = rng.randint(min(5, len(pool)), min(20, len(pool)))
    countries = tuple(sorted(rng.sample(pool, k)))
    weights = [rng.paretovariate(1.3) for _ in countries]
    total = sum(weights)
    streams = {c: max(1, round(scale * w / total))
               for c, w in zip(countries, weights, strict=True)}
    sub30 = {c: max(1, round(n * rng.uniform(0.12, 0.25))) for c, n in streams.items()}
    size = len(tracks)
    n_active = max(min(size, 10), int(size * rng.uniform(0.6, 0.95)))
    active = tuple(sorted(rng.sample(range(size), n_active)))
    jitter = [tracks[t].weight * rng.uniform(0.7, 1.3) for t in active]
    return DayPlan(day, countries, streams, sub30, active,
                   tuple(lookup_table(list(active), jitter)))


def restated_plan(seed: int, plan: DayPlan, generation: int,
                  tracks: tuple[Track, ...]) -> DayPlan:
    """A corrected delivery of `plan`: one country file gone (when there are several),
    some country files shorter, about a tenth of the tracks gone (a shorter tracks file,
    aggregated tracks removed); every file's values are drawn anew."""
    rng = seeded(seed, "restate", plan.day, generation)
    countries = list(plan.countries)
    if len(countries) > 1:
        countries.remove(rng.choice(countries))
    shorter = set(rng.sample(countries, max(1, len(countries) // 2)))
    streams, sub30 = {}, {}
    for country in countries:
        factor = rng.uniform(0.5, 0.9) if country in shorter else 1.0
        streams[country] = max(1, round(plan.streams[country] * factor))
        sub30[country] = max(1, round(plan.sub30[country] * factor))
    n_gone = min(len(plan.active) - 1, max(1, len(plan.active) // 10))
    gone = set(rng.sample(plan.active, n_gone))
    active = tuple(t for t in plan.active if t not in gone)
    jitter = [tracks[t].weight * rng.uniform(0.7, 1.3) for t in active]
    return DayPlan(plan.day, tuple(countries), streams, sub30, active,
                   tuple(lookup_table(list(active), jitter)))
