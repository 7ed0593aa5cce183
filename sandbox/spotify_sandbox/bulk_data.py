"""Deterministic Bulk API data files, generated as streams of line chunks.

Every file depends only on (seed, report, date, country, generation) and the data options,
never on request order. A day starts at generation 0; `restate(day)` moves it to the next
generation, a corrected delivery derived from the previous one
(`bulk_plan.restated_plan`).
Lines are rendered from per-file vocabularies (users, tracks, sources) so a
file of millions of lines is generated chunk by chunk in constant memory; `gzip_chunks`
compresses it incrementally. The truth (truth.py) parses these same line chunks.

What a day holds is `bulk_plan`; the value mixes and line parts are `bulk_lines`.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson

from spotify_sandbox.bulk_lines import (
    DEVICES,
    GENDERS,
    HMS,
    PRODUCTS,
    aggregated_line,
    apply_specials,
    flag_parts,
    pick,
    seeded,
    source_parts,
    special_lines,
    weighted_index,
)
from spotify_sandbox.bulk_plan import DayPlan, first_plan, restated_plan
from spotify_sandbox.catalogue import Track, catalogue

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator

    from spotify_sandbox.options import SandboxOptions

REPORTS = ("streams", "sub_30_sec_streams", "users", "tracks", "aggregatedstreams")
COUNTRY_REPORTS = frozenset({"streams", "sub_30_sec_streams"})
CHUNK_LINES = 8192
MAX_USERS_PER_COUNTRY = 20_000


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
        return seeded(self.seed, *parts, *((f"g{generation}",) if generation else ()))

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
            return None if previous is None else restated_plan(self.seed, previous,
                                                               generation, self.tracks)
        if not self.start <= day <= self.end:
            return None
        return first_plan(self.seed, day, pool=self.pool, scale=self.scale,
                          empty_day_rate=self.empty_day_rate, tracks=self.tracks)

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
            device, systems, _w = DEVICES[weighted_index(rng, DEVICES)]
            record = {
                "user_id": user_id, "country": country,
                "region": f"{country}-{rng.randint(1, 20):02d}",
                "birth_year": None if rng.random() < 0.1 else rng.randint(1940, 2010),
                "gender": pick(rng, GENDERS), "product": pick(rng, PRODUCTS),
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
        sources = source_parts(rng, country)
        flags = flag_parts(rng, day, sub30)
        table = plan.track_table
        tracks = self.tracks
        specials = special_lines(rng, count)
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
                append(f'{head}{HMS[int(rnd() * 86400)]}Z",{user.id_part},{track.stream_part},'
                       f'{sources[int(rnd() * n_sources)]},"ms_played":{ms},{flag},'
                       f'{user.tail_part}}}\n')
            apply_specials(lines, start, specials, country, other_country)
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
            orjson.dumps(aggregated_line(rng, day, self.tracks[t], table_share[t],
                                         countries=plan.countries,
                                         streams_per_country=plan.streams))
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

