"""The licensor's track catalogue: deterministic from the seed, with unicode names."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from functools import lru_cache

import orjson

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ZIPF_EXPONENT = 1.07  # a few hits take most streams

_WORDS = (
    "Midnight", "Summer", "Echo", "Café", "Señorita", "Sjön", "Nordlys", "Мечта", "東京",
    "사랑", "Fjäril", "Déjà Vu", "Lumière", "Jalapeño", "Straße", "Żółw", "Ψυχή", "حلم",
    "Blue", "Neon", "River", "Gold", "Heart", "Wild", "Paper", "Sky", "Ocean", "Fire",
    "Dreams", "Ålborg", "Coração", "Noche", "Île", "Hjärta", "🎧", "✨", "Stay", "Run",
)
_FIRST = ("Astrid", "Björn", "Zoë", "José", "Małgorzata", "Søren", "Aiko", "Chloé", "Émile",
          "Nikolaï", "Ana", "Jun", "Leïla", "Oğuz", "Ines")
_LAST = ("Lindqvist", "Müller", "Ørsted", "Núñez", "Kowalski", "Tanaka", "Dubois", "Ivanova",
         "Nakamura", "Silva", "Y\u0131lmaz", "O'Brien", "Håkansson")
_LABELS = ("Gyrostream Records", "Nordic Tone", "Café Musique", "東京レコード", "Sello Azul",
           "Independent")


@dataclass(frozen=True)
class Track:
    track_id: str
    isrc: str
    weight: float  # popularity, Zipf-like by catalogue rank
    duration_ms: int
    line: str  # the `tracks` file line (JSON, no newline)
    stream_part: str  # '"track_id":"…","isrc":"…"' for streams lines
    name: str
    album_name: str
    album_id: str

    @property
    def href(self) -> str:
        return f"https://api.spotify.com/v1/tracks/{self.track_id}"

    @property
    def album_href(self) -> str:
        return f"https://api.spotify.com/v1/albums/{self.album_id}"


def base62_id(rng: random.Random) -> str:
    return "".join(rng.choice(BASE62) for _ in range(22))


def _title(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


@lru_cache(maxsize=8)
def catalogue(seed: int, size: int) -> tuple[Track, ...]:
    """`size` tracks on albums of 1 to 12 tracks; index = popularity rank."""
    rng = random.Random(f"{seed}|catalogue")
    tracks: list[Track] = []
    while len(tracks) < size:
        album_id, album_name = base62_id(rng), _title(rng, rng.randint(1, 3))
        artist = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        label = None if rng.random() < 0.03 else rng.choice(_LABELS)
        upc = f"{rng.randrange(10**12):012d}"
        release = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(8800))
        for _ in range(min(rng.randint(1, 12), size - len(tracks))):
            rank = len(tracks) + 1
            track_id = base62_id(rng)
            registrant = rng.choice(("SE", "US", "GB", "DE")) + rng.choice(("ABC", "GYR", "XQZ"))
            isrc = f"{registrant}{rng.randint(0, 99):02d}{rng.randrange(100000):05d}"
            name = _title(rng, rng.randint(1, 4))
            duration = rng.randint(90_000, 420_000)
            record = {
                "track_id": track_id, "isrc": isrc, "track_name": name, "album_id": album_id,
                "album_name": album_name, "upc": upc, "artist_name": artist, "label": label,
                "duration_ms": duration, "release_date": release.isoformat(),
            }
            tracks.append(Track(
                track_id=track_id, isrc=isrc, weight=1.0 / rank**ZIPF_EXPONENT,
                duration_ms=duration, line=orjson.dumps(record).decode(),
                stream_part=f'"track_id":"{track_id}","isrc":"{isrc}"', name=name,
                album_name=album_name, album_id=album_id,
            ))
    return tuple(tracks)
