"""Deterministic Bulk API data files, generated as streams of line chunks.

Every file depends only on (seed, report, date, country, generation) and the data options,
never on request order. A day starts at generation 0; `restate(day)` moves it to the next
generation, a corrected delivery derived from the previous one (see `_restated`).
Lines are rendered from per-file vocabularies (users, tracks, sources) so a
file of millions of lines is generated chunk by chunk in constant memory; `gzip_chunks`
compresses it incrementally. The truth (truth.py) parses these same line chunks.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson

from spotify_sandbox.catalogue import Track, base62_id, catalogue

if TYPE_CHECKING:
    from collections.abc import Iterator

    from spotify_sandbox.options import SandboxOptions

REPORTS = ("streams", "sub_30_sec_streams", "users", "tracks", "aggregatedstreams")
COUNTRY_REPORTS = frozenset({"streams", "sub_30_sec_streams"})
CHUNK_LINES = 8192
MAX_USERS_PER_COUNTRY = 20_000
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
_HMS = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in (seed, *parts)))


def _weighted_index(rng: random.Random, weighted: tuple) -> int:
    """Index of an item of `weighted` (tuples whose last element is the weight)."""
    return rng.choices(range(len(weighted)), weights=[w[-1] for w in weighted])[0]


def _pick(rng: random.Random, weighted: tuple) -> object:
    return weighted[_weighted_index(rng, weighted)][0]


def _table(items: list, weights: list[float], size: int = TABLE_SIZE) -> list:
    """A lookup table where each item appears about in proportion to its weight (at least once)."""
    total = sum(weights)
    table: list = []
    for item, weight in zip(items, weights, strict=True):
        table.extend([item] * max(1, round(weight / total * size)))
    return table


@dataclass(frozen=True)
class DayPlan:
    """What exists on one day: countries with their event counts and the tracks streamed."""

    day: dt.date
    countries: tuple[str, ...]
    streams: dict[str, int]  # events per country in the streams file
    sub30: dict[str, int]  # events per country in the sub-30 file
    active: tuple[int, ...]  # catalogue indices of the tracks streamed that day
    track_table: tuple[int, ...]  # weighted lookup table over `active`


@dataclass(frozen=True)
class User:
    line: str  # the `users` file line
    id_part: str  # '"user_id":"…"'
    tail_part: str  # '"device_type":"…","os":"…","product":"…"'


class BulkData:
    """The generated data set of one sandbox."""

    def __init__(self, options: SandboxOptions) -> None:
        self.seed = options.seed
        self.start, self.end = options.start, options.end
        self.pool = tuple(options.countries)
        self.scale = max(1, options.scale)
        self.empty_day_rate = options.empty_day_rate
        self.tracks: tuple[Track, ...] = catalogue(options.seed, max(1, options.catalogue_size))
        self.generations: dict[dt.date, int] = {}
        self._plan = lru_cache(maxsize=4096)(self._plan_of)
        self._users_of = lru_cache(maxsize=4)(self._users_uncached)

    # -- generations (restatements) ------------------------------------------------------
    def generation(self, day: dt.date) -> int:
        """The day's current generation: 0 as first delivered, +1 per restatement."""
        return self.generations.get(day, 0)

    def restate(self, day: dt.date) -> int:
        """Replace the day's files with the next corrected generation; returns it."""
        if self.day(day) is None:
            raise ValueError(f"{day} has no data to restate")
        self.generations[day] = self.generation(day) + 1
        return self.generations[day]

    def _file_rng(self, day: dt.date, *parts: object) -> random.Random:
        """The rng of one file of `day`; generation 0 keeps the original seeding."""
        generation = self.generation(day)
        return _rng(self.seed, *parts, *((f"g{generation}",) if generation else ()))

    def day(self, day: dt.date) -> DayPlan | None:
        """The plan of a day in its current generation, None when it has no data."""
        return self._plan(day, self.generation(day))

    def users(self, day: dt.date, country: str) -> tuple[User, ...]:
        return self._users_of(day, country, self.generation(day))

    # -- what exists ---------------------------------------------------------------------
    def _plan_of(self, day: dt.date, generation: int) -> DayPlan | None:
        """The plan of a day, None when the day is outside the range or has no data."""
        if generation > 0:
            previous = self._plan(day, generation - 1)
            return None if previous is None else self._restated(previous, generation)
        if not self.start <= day <= self.end:
            return None
        rng = _rng(self.seed, "day", day)
        if rng.random() < self.empty_day_rate:
            return None
        k = rng.randint(min(5, len(self.pool)), min(20, len(self.pool)))
        countries = tuple(sorted(rng.sample(self.pool, k)))
        weights = [rng.paretovariate(1.3) for _ in countries]
        total = sum(weights)
        streams = {c: max(1, round(self.scale * w / total))
                   for c, w in zip(countries, weights, strict=True)}
        sub30 = {c: max(1, round(n * rng.uniform(0.12, 0.25))) for c, n in streams.items()}
        size = len(self.tracks)
        n_active = max(min(size, 10), int(size * rng.uniform(0.6, 0.95)))
        active = tuple(sorted(rng.sample(range(size), n_active)))
        jitter = [self.tracks[t].weight * rng.uniform(0.7, 1.3) for t in active]
        return DayPlan(day, countries, streams, sub30, active, tuple(_table(list(active), jitter)))

    def _restated(self, plan: DayPlan, generation: int) -> DayPlan:
        """A corrected delivery of `plan`: one country file gone (when there are several),
        some country files shorter, about a tenth of the tracks gone (a shorter tracks file,
        aggregated tracks removed); every file's values are drawn anew."""
        rng = _rng(self.seed, "restate", plan.day, generation)
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
        jitter = [self.tracks[t].weight * rng.uniform(0.7, 1.3) for t in active]
        return DayPlan(plan.day, tuple(countries), streams, sub30, active,
                       tuple(_table(list(active), jitter)))

    def has_file(self, report: str, day: dt.date, country: str | None = None) -> bool:
        plan = self.day(day)
        if plan is None or report not in REPORTS:
            return False
        if report in COUNTRY_REPORTS:
            return country in plan.streams
        return country is None

    def _users_uncached(self, day: dt.date, country: str, generation: int) -> tuple[User, ...]:
        """The users active in one country on one day (in the day's current `generation`)."""
        plan = self.day(day)
        assert plan is not None
        rng = self._file_rng(day, "users", day, country)
        count = min(MAX_USERS_PER_COUNTRY, plan.streams[country] // 5 + 3)
        users = []
        for _ in range(count):
            user_id = f"{rng.getrandbits(128):032x}"
            device, systems, _w = DEVICES[_weighted_index(rng, DEVICES)]
            record = {
                "user_id": user_id, "country": country,
                "region": f"{country}-{rng.randint(1, 20):02d}",
                "birth_year": None if rng.random() < 0.1 else rng.randint(1940, 2010),
                "gender": _pick(rng, GENDERS), "product": _pick(rng, PRODUCTS),
                "device_type": device, "os": rng.choice(systems),
            }
            if rng.random() < 0.002:
                record["x_registration_source"] = "partner"
            users.append(User(
                line=orjson.dumps(record).decode(), id_part=f'"user_id":"{user_id}"',
                tail_part=f'"device_type":"{device}","os":"{record["os"]}",'
                          f'"product":"{record["product"]}"',
            ))
        return tuple(users)

    # -- files as line chunks ------------------------------------------------------------
    def line_chunks(self, report: str, day: dt.date, country: str | None = None) -> Iterator[bytes]:
        """The uncompressed file, in chunks of whole lines (the last may lack a newline)."""
        if not self.has_file(report, day, country):
            raise KeyError((report, day, country))
        if report in COUNTRY_REPORTS:
            assert country is not None
            return self._event_chunks(report, day, country)
        if report == "users":
            return self._users_chunks(day)
        if report == "tracks":
            return self._tracks_chunks(day)
        return self._aggregated_chunks(day)

    def _event_chunks(self, report: str, day: dt.date, country: str) -> Iterator[bytes]:
        plan = self.day(day)
        assert plan is not None
        sub30 = report == "sub_30_sec_streams"
        count = (plan.sub30 if sub30 else plan.streams)[country]
        users = self.users(day, country)
        rng = self._file_rng(day, report, day, country)
        sources = _source_parts(rng, country)
        flags = _flag_parts(rng, day, sub30)
        table = plan.track_table
        tracks = self.tracks
        specials = _special_lines(rng, count)
        drop_final_newline = rng.random() < 0.3
        other_country = rng.choice([c for c in self.pool if c != country] or [country])
        head = f'{{"timestamp":"{day.isoformat()}T'
        rnd = rng.random
        n_users, n_tracks, n_sources, n_flags = len(users), len(table), len(sources), len(flags)
        for start in range(0, count, CHUNK_LINES):
            lines = []
            append = lines.append
            for _ in range(min(CHUNK_LINES, count - start)):
                user = users[int(rnd() * n_users)]
                track = tracks[table[int(rnd() * n_tracks)]]
                complete, flag = flags[int(rnd() * n_flags)]
                if sub30:
                    ms = 1000 + int(rnd() * 28_999)
                elif complete:
                    ms = track.duration_ms
                else:
                    ms = 30_000 + int(rnd() * (track.duration_ms - 30_000))
                append(f'{head}{_HMS[int(rnd() * 86400)]}Z",{user.id_part},{track.stream_part},'
                       f'{sources[int(rnd() * n_sources)]},"ms_played":{ms},{flag},'
                       f'{user.tail_part}}}\n')
            _apply_specials(lines, start, specials, country, other_country)
            if drop_final_newline and start + CHUNK_LINES >= count:
                lines[-1] = lines[-1].rstrip("\n")
            yield "".join(lines).encode()

    def _users_chunks(self, day: dt.date) -> Iterator[bytes]:
        plan = self.day(day)
        assert plan is not None
        rng = self._file_rng(day, "users-file", day)
        for country in plan.countries:
            users = self.users(day, country)
            for start in range(0, len(users), CHUNK_LINES):
                part = users[start:start + CHUNK_LINES]
                text = "".join(
                    u.line + ("\n\n" if rng.random() < 0.001 else "\n") for u in part
                )
                yield text.encode()

    def _tracks_chunks(self, day: dt.date) -> Iterator[bytes]:
        plan = self.day(day)
        assert plan is not None
        rng = self._file_rng(day, "tracks-file", day)
        lines = []
        for index in plan.active:
            line = self.tracks[index].line
            if rng.random() < 0.01:
                line = line[:-1] + ',"x_popularity":' + str(rng.randint(1, 100)) + "}"
            lines.append(line)
        text = "\n".join(lines)
        yield (text if rng.random() < 0.5 else text + "\n").encode()

    def _aggregated_chunks(self, day: dt.date) -> Iterator[bytes]:
        plan = self.day(day)
        assert plan is not None
        rng = self._file_rng(day, "aggregated", day)
        counts = Counter(plan.track_table)
        table_share = {t: counts[t] / len(plan.track_table) for t in plan.active}
        lines = [
            orjson.dumps(_aggregated_line(rng, day, self.tracks[t], table_share[t], plan))
            for t in plan.active
        ]
        blank = rng.randrange(len(lines))
        lines[blank] += b"\n"
        yield b"\n".join(lines) + b"\n"

    def gzip_chunks(
        self, report: str, day: dt.date, country: str | None = None, *, truncate: bool = False,
    ) -> Iterator[bytes]:
        """The gzip file, compressed incrementally. `truncate`: stop mid-way, mid-line and
        without the gzip trailer (what a cut-off download looks like)."""
        compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        for chunk in self.line_chunks(report, day, country):
            if truncate:
                yield compressor.compress(chunk[: max(1, len(chunk) // 2)])
                yield compressor.flush(zlib.Z_SYNC_FLUSH)
                return
            out = compressor.compress(chunk)
            if out:
                yield out
        yield compressor.flush()


def _source_parts(rng: random.Random, country: str) -> list[str]:
    """Rendered '"country":…,"source":…,"source_uri":…' parts, weighted by source mix."""
    parts, weights = [], []
    for source, weight in SOURCES:
        for _ in range(6):
            kind = {"playlist": "playlist", "others_playlist": "playlist", "album": "album",
                    "artist": "artist", "radio": "station"}.get(source)
            uri = f'"spotify:{kind}:{base62_id(rng)}"' if kind else "null"
            parts.append(f'"country":"{country}","source":"{source}","source_uri":{uri}')
            weights.append(weight)
    return _table(parts, weights)


def _flag_parts(rng: random.Random, day: dt.date, sub30: bool) -> list[tuple[bool, str]]:
    """(completion, rendered cached/shuffle/offline/completion part), weighted."""
    parts, weights = [], []
    offline_times = [f'"{(day - dt.timedelta(days=rng.randint(0, 2))).isoformat()}T'
                     f'{_HMS[rng.randrange(86400)]}Z"' for _ in range(8)]
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
    return _table(parts, weights)


def _special_lines(rng: random.Random, count: int) -> dict[int, str]:
    """Line index -> oddity: an unknown key, a foreign country, or a blank line after it."""
    if count < 2:
        return {}
    kinds = ("extra", "country", "blank")
    n = count // 3000 + (1 if rng.random() < 0.5 else 0)
    return {rng.randrange(count - 1): rng.choice(kinds) for _ in range(n)}


def _apply_specials(lines: list[str], start: int, specials: dict[int, str], country: str,
                    other_country: str) -> None:
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


def _split(rng: random.Random, total: int, weighted: tuple) -> dict[str, int]:
    """Split `total` over the weighted keys with some noise; zero shares are dropped."""
    raw = [w[-1] * rng.uniform(0.6, 1.4) for w in weighted]
    scale = total / sum(raw)
    shares = [int(r * scale) for r in raw]
    shares[0] += total - sum(shares)
    return {w[0]: s for w, s in zip(weighted, shares, strict=True) if s > 0}


def _aggregated_line(rng: random.Random, day: dt.date, track: Track, share: float,
                     plan: DayPlan) -> dict:
    streams, skips, saves = {}, {}, {}
    for country in plan.countries:
        total = int(plan.streams[country] * AGGREGATE_FACTOR * share * rng.uniform(0.8, 1.2))
        if total <= 0:
            continue
        genders = {}
        for gender, g_total in _split(rng, total, GENDERS).items():
            entry: dict = {"total": g_total}
            if rng.random() >= 0.01:
                entry["age"] = _split(rng, g_total, AGE_GROUPS)
            genders[gender] = entry
        streams[country] = {"total": total, "gender": genders}
        if rng.random() < 0.01:
            streams[country]["x_region_rank"] = rng.randint(1, 50)
        skips[country] = {"total": int(total * rng.uniform(0.1, 0.3))}
        save_total = int(total * rng.uniform(0.01, 0.06))
        if save_total > 0:
            saves[country] = {"total": save_total, "product": _split(rng, save_total, PRODUCTS)}
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
