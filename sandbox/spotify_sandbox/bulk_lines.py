"""The pieces Bulk data files are made of: the value mixes (genders, ages, products,
sources, devices), seeded random draws, and the rendering of line parts, oddities and
aggregated lines.

Everything here is a pure function of the random generator it is given, so a file is the
same whatever the order it is asked in (see `bulk_data`).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

from spotify_sandbox.catalogue import Track, base62_id

if TYPE_CHECKING:
    from collections.abc import Mapping

TABLE_SIZE = 4096
AGGREGATE_FACTOR = 25  # aggregated counts cover all streams, not only the sampled events

GENDERS = (("female", 0.46), ("male", 0.44), ("neutral", 0.03), ("unknown", 0.07))
AGE_GROUPS = (("0-17", 0.08), ("18-22", 0.2), ("23-27", 0.22), ("28-34", 0.2),
              ("35-44", 0.14), ("45-59", 0.1), ("60+", 0.04), ("unknown", 0.02))
PRODUCTS = (("premium", 0.5), ("free", 0.35), ("family", 0.08), ("student", 0.05), ("duo", 0.02))
SOURCES = (("playlist", 0.32), ("others_playlist", 0.14), ("album", 0.14), ("artist", 0.08),
           ("collection", 0.12), ("radio", 0.06), ("search", 0.06), ("play_queue", 0.05),
           ("other", 0.03))
DEVICES = (("smartphone", ("android", "ios"), 0.62),
           ("desktop", ("windows", "macos", "linux"), 0.15),
           ("tablet", ("android", "ios"), 0.05), ("speaker", ("other",), 0.06),
           ("tv", ("android", "other"), 0.04), ("car", ("android", "other"), 0.04),
           ("web", ("web",), 0.03), ("game_console", ("other",), 0.01))
HMS = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


def seeded(seed: int, *parts: object) -> random.Random:
    """The random generator of `seed` and `parts` (a file, a day plan, a restatement)."""
    return random.Random("|".join(str(p) for p in (seed, *parts)))


def weighted_index(rng: random.Random, weighted: tuple) -> int:
    """Index of an item of `weighted` (tuples whose last element is the weight)."""
    return rng.choices(range(len(weighted)), weights=[w[-1] for w in weighted])[0]


def pick(rng: random.Random, weighted: tuple) -> object:
    return weighted[weighted_index(rng, weighted)][0]


def lookup_table(items: list, weights: list[float], size: int = TABLE_SIZE) -> list:
    """A lookup table where each item appears about in proportion to its weight (at least once)."""
    total = sum(weights)
    table: list = []
    for item, weight in zip(items, weights, strict=True):
        table.extend([item] * max(1, round(weight / total * size)))
    return table


def source_parts(rng: random.Random, country: str) -> list[str]:
    """Rendered '"country":…,"source":…,"source_uri":…' parts, weighted by source mix."""
    parts, weights = [], []
    for source, weight in SOURCES:
        for _ in range(6):
            kind = {"playlist": "playlist", "others_playlist": "playlist", "album": "album",
                    "artist": "artist", "radio": "station"}.get(source)
            uri = f'"spotify:{kind}:{base62_id(rng)}"' if kind else "null"
            parts.append(f'"country":"{country}","source":"{source}","source_uri":{uri}')
            weights.append(weight)
    return lookup_table(parts, weights)


def flag_parts(rng: random.Random, day: dt.date, sub30: bool) -> list[tuple[bool, str]]:
    """(completion, rendered cached/shuffle/offline/completion part), weighted."""
    parts, weights = [], []
    offline_times = [f'"{(day - dt.timedelta(days=rng.randint(0, 2))).isoformat()}T'
                     f'{HMS[rng.randrange(86400)]}Z"' for _ in range(8)]
    for cached in (False, True):
        for shuffle in (False, True):
            for complete in ((False,) if sub30 else (False, True)):
                for offline in ([*offline_times, "null"] if cached else ["null"]):
                    weight = (0.25 if cached else 0.75) * (0.4 if shuffle else 0.6)
                    weight *= (0.55 if complete else 0.45)
                    weight *= (0.9 if offline == "null" else 0.1 / len(offline_times)) \
                        if cached else 1.0
                    text = (f'"cached":{str(cached).lower()},"shuffle":{str(shuffle).lower()},'
                            f'"offline_timestamp":{offline},"completion":{str(complete).lower()}')
                    parts.append((complete, text))
                    weights.append(weight)
    return lookup_table(parts, weights)


def special_lines(rng: random.Random, count: int) -> dict[int, str]:
    """Line index -> oddity: an unknown key, a foreign country, or a blank line after it."""
    if count < 2:
        return {}
    kinds = ("extra", "country", "blank")
    n = count // 3000 + (1 if rng.random() < 0.5 else 0)
    return {rng.randrange(count - 1): rng.choice(kinds) for _ in range(n)}


def apply_specials(lines: list[str], start: int, specials: dict[int, str], country: str,
                   other_country: str) -> None:
    """Apply the oddities of `special_lines` to the chunk of `lines` starting at `start`."""
    for index, kind in specials.items():
        pos = index - start
        if not 0 <= pos < len(lines):
            continue
        if kind == "extra":
            lines[pos] = lines[pos][:-2] + ',"x_campaign":"spring_push"}\n'
        elif kind == "country":
            lines[pos] = lines[pos].replace(f'"country":"{country}"',
                                            f'"country":"{other_country}"', 1)
        else:
            lines[pos] += "\n"


def split_total(rng: random.Random, total: int, weighted: tuple) -> dict[str, int]:
    """Split `total` over the weighted keys with some noise; zero shares are dropped."""
    raw = [w[-1] * rng.uniform(0.6, 1.4) for w in weighted]
    scale = total / sum(raw)
    shares = [int(r * scale) for r in raw]
    shares[0] += total - sum(shares)
    return {w[0]: s for w, s in zip(weighted, shares, strict=True) if s > 0}


def aggregated_line(rng: random.Random, day: dt.date, track: Track, share: float, *,
                    countries: tuple[str, ...], streams_per_country: Mapping[str, int]) -> dict:
    """One `aggregatedstreams` line: a track's streams, skips and saves per country, with
    the gender and age split, on a day whose files hold `streams_per_country` events."""
    streams, skips, saves = {}, {}, {}
    for country in countries:
        total = int(streams_per_country[country] * AGGREGATE_FACTOR * share
                    * rng.uniform(0.8, 1.2))
        if total <= 0:
            continue
        genders = {}
        for gender, g_total in split_total(rng, total, GENDERS).items():
            entry: dict = {"total": g_total}
            if rng.random() >= 0.01:
                entry["age"] = split_total(rng, g_total, AGE_GROUPS)
            genders[gender] = entry
        streams[country] = {"total": total, "gender": genders}
        if rng.random() < 0.01:
            streams[country]["x_region_rank"] = rng.randint(1, 50)
        skips[country] = {"total": int(total * rng.uniform(0.1, 0.3))}
        save_total = int(total * rng.uniform(0.01, 0.06))
        if save_total > 0:
            saves[country] = {"total": save_total,
                              "product": split_total(rng, save_total, PRODUCTS)}
    line: dict = {
        "date": day.isoformat(),
        "trackv2": {"name": track.name, "href": track.href, "isrc": track.isrc},
        "album": {"name": track.album_name, "href": track.album_href},
        "streams": {"country": streams},
    }
    if rng.random() >= 0.03:
        line["skips"] = {"country": skips}
    if rng.random() >= 0.03:
        line["saves"] = {"country": saves}
    if rng.random() < 0.05:
        line["x_chart_position"] = rng.randint(1, 200)
    if rng.random() < 0.02:
        line["trackv2"]["x_explicit"] = rng.random() < 0.5
    return line
