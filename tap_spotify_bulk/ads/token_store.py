"""The Ads refresh token across runs: a file that keeps the latest token of each Ads app.

Spotify's token endpoint may answer a refresh with a new refresh token and revoke the old
one. A scheduled run whose configuration still holds the old token would then fail, so the
tap keeps the latest token of each Ads app (keyed by its client id) in a store:

* where: the `ads_token_store` directory; by default `$XDG_STATE_HOME/tap-spotify-bulk`,
  else `~/.local/state/tap-spotify-bulk`; `off` keeps no store.
* what: per client id, the latest refresh token, a SHA-256 fingerprint of the configured
  token it replaced (enough to recognise it, without keeping a second secret), and when
  the token was authorized (`ads-login` records it; otherwise the tap's first use of a
  configured token, a lower bound of its age).
* how: one JSON file, mode 0600, rewritten atomically (a temporary file in the same
  directory, then a rename over the file), every read-modify-write under an exclusive `flock` of a
  lock file beside it, so concurrent taps (several Dagster runs) never corrupt it.

At start, the stored token is used when the configured one is the one it replaced (or is
itself); a newly configured token (from `ads-login`, say) wins and starts a new entry. A
rotated token is written before the token client hands out the access token that came with
it, so a kill at any later moment keeps it. Each refresh happens under the lock after
reading the store, so a tap never sends a token another tap has already rotated away. When
the server refuses the stored token (a server that forgot a rotation), the configured token
is tried once before the run stops. Tokens never appear in messages; only paths, ages and
error names do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from tap_spotify_bulk.errors import ConfigError, TapError
from tap_spotify_bulk.shared_settings import Setting

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

LOGGER = logging.getLogger("tap_spotify_bulk.ads")
APP_DIRECTORY = "tap-spotify-bulk"
STORE_FILE = "ads-refresh-tokens.json"
OFF = "off"
FORMAT = 1
LIFETIME_DAYS = 183  # Spotify refresh tokens expire six months after authorization
WARN_AFTER_DAYS = 152  # five months: time to re-authorize before a pipeline stops
BY_LOGIN = "ads-login"
BY_FIRST_USE = "first-use"

ADS_TOKEN_STORE = Setting(
    "ads_token_store", "string", "Ads Token Store",
    "Directory where the tap keeps the latest Ads refresh token of each Ads app (a file only "
    "its user can read), so a token the Ads API rotates is used by the next run too. "
    "Default: `$XDG_STATE_HOME/tap-spotify-bulk`, else `~/.local/state/tap-spotify-bulk`. "
    "Use a persistent path the tap can write (a volume on Kubernetes, a directory beside the "
    "Meltano project); `off` keeps no store (then update `ads_refresh_token` after each "
    "rotation).", group="Ads API")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_directory(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/tap-spotify-bulk`, else `~/.local/state/tap-spotify-bulk`."""
    env = os.environ if env is None else env
    state_home = env.get("XDG_STATE_HOME", "")
    base = Path(state_home) if Path(state_home).is_absolute() else Path.home() / ".local/state"
    return base / APP_DIRECTORY


def directory(config: Mapping[str, t.Any]) -> Path | None:
    """The store's directory for a configuration; None when `ads_token_store` is `off`."""
    value = ADS_TOKEN_STORE.value(config)
    if value is None:
        return default_directory()
    if value.lower() == OFF:
        return None
    return Path(value).expanduser()


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One Ads app's refresh token in the store."""

    refresh_token: str = field(repr=False)  # never in a repr, a traceback or a debugger
    replaces: str  # fingerprint of the configured token this entry replaced (or is)
    authorized_at: dt.datetime  # UTC
    authorized_by: str  # BY_LOGIN: exact; BY_FIRST_USE: the tap's first use, a lower bound

    def age_days(self, now: dt.datetime | None = None) -> int:
        return ((now or utc_now()) - self.authorized_at).days

    def describe_age(self, now: dt.datetime | None = None) -> str:
        """`authorized 12 day(s) ago` or `in use for at least 12 day(s)`, for messages."""
        days = self.age_days(now)
        if self.authorized_by == BY_LOGIN:
            return f"authorized {days} day(s) ago"
        return f"in use for at least {days} day(s)"

    def to_json(self) -> dict[str, str]:
        return {"refresh_token": self.refresh_token, "replaces_sha256": self.replaces,
                "authorized_at": self.authorized_at.isoformat(),
                "authorized_by": self.authorized_by}

    @classmethod
    def from_json(cls, value: t.Any) -> Entry:
        return cls(str(value["refresh_token"]), str(value["replaces_sha256"]),
                   dt.datetime.fromisoformat(value["authorized_at"]),
                   str(value["authorized_by"]))


class TokenStore:
    """The store file in `root`, read and written for one Ads client id."""

    def __init__(self, root: Path, client_id: str) -> None:
        self.root = root
        self.path = root / STORE_FILE
        self.client_id = client_id

    def _failure(self, doing: str, exc: OSError) -> TapError:
        reason = exc.strerror or type(exc).__name__
        return TapError(f"Ads token store: cannot {doing} {self.path} ({reason}): make the "
                        "directory writable for the tap, set `ads_token_store` to one that "
                        "is, or set it to `off`.")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock file exclusively (other taps wait)."""
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(STORE_FILE + ".lock"), os.O_RDWR | os.O_CREAT,
                         0o600)
        except OSError as exc:
            raise self._failure("create", exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _apps(self) -> dict[str, t.Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._failure("read", exc) from None
        try:
            apps = json.loads(text)["apps"]
            if not isinstance(apps, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            msg = (f"Ads token store {self.path} is not a token store file: move it away "
                   "(the tap then starts from `ads_refresh_token`).")
            raise ConfigError(msg) from None
        return apps

    def read(self) -> Entry | None:
        """This client id's entry (call under `locked`)."""
        value = self._apps().get(self.client_id)
        if value is None:
            return None
        try:
            return Entry.from_json(value)
        except (KeyError, TypeError, ValueError):
            return None  # an entry this version cannot read: start again from the config

    def write(self, entry: Entry) -> None:
        """Replace this client id's entry, atomically (call under `locked`)."""
        apps = self._apps()
        apps[self.client_id] = entry.to_json()
        data = json.dumps({"format": FORMAT, "apps": apps}, indent=1).encode()
        temporary = self.path.with_name(f".{STORE_FILE}.{os.getpid()}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            temporary.replace(self.path)
            directory_fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(directory_fd)
            finally:
                os.close(directory_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise self._failure("write", exc) from None


class StoredRefreshToken:
    """One Ads app's refresh token, kept in a `TokenStore` across runs and rotations (the
    `RefreshTokenKeeper` of `tap_spotify_bulk.auth.TokenClient`)."""

    def __init__(self, store: TokenStore, configured: str,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.store = store
        self._configured_token = configured
        self._clock = clock
        fingerprinted = fingerprint(configured)
        with store.locked():
            entry = store.read()
            if entry is None or fingerprinted not in {
                    entry.replaces, fingerprint(entry.refresh_token)}:
                # A newly configured token wins over the store and starts a new entry.
                entry = Entry(configured, fingerprinted, clock(), BY_FIRST_USE)
                store.write(entry)
        self.entry = entry

    @property
    def refresh_token(self) -> str:
        """The token to start with: the latest of this entry."""
        return self.entry.refresh_token

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self.store.locked()

    def latest(self, held: str) -> str:
        """Under the lock: the entry's latest token (another tap may have rotated `held`)."""
        entry = self.store.read()
        if entry is not None and entry.replaces == self.entry.replaces:
            self.entry = entry
            return entry.refresh_token
        return held

    def rotated(self, new: str) -> None:
        """Under the lock: keep a token the endpoint just rotated to."""
        self.entry = Entry(new, self.entry.replaces, self.entry.authorized_at,
                           self.entry.authorized_by)
        self.store.write(self.entry)

    def rejected(self, token: str) -> str | None:
        """Under the lock: the endpoint refused `token` (invalid_grant). When it is not the
        configured token (the server forgot a rotation: a restored or restarted server),
        the configured token is tried once, as a new entry; otherwise None."""
        if token == self._configured_token:
            return None
        LOGGER.warning("Ads token store: the stored refresh token was refused; trying the "
                       "configured `ads_refresh_token`.")
        self.entry = Entry(self._configured_token, fingerprint(self._configured_token),
                           self._clock(), BY_FIRST_USE)
        self.store.write(self.entry)
        return self._configured_token


def for_config(config: Mapping[str, t.Any], client_id: str,
               refresh_token: str) -> StoredRefreshToken | None:
    """The stored refresh token of this Ads app; None when `ads_token_store` is `off`."""
    root = directory(config)
    return None if root is None else StoredRefreshToken(TokenStore(root, client_id),
                                                        refresh_token)


def record_login(config: Mapping[str, t.Any], client_id: str, refresh_token: str,
                 replaced: str | None) -> Path | None:
    """Store the token `ads-login` obtained, authorized now. It also stands in for the
    `replaced` configured token, so a configuration not updated yet still gets it. The
    store's file, or None when the store is `off`."""
    root = directory(config)
    if root is None:
        return None
    store = TokenStore(root, client_id)
    with store.locked():
        store.write(Entry(refresh_token, fingerprint(replaced or refresh_token), utc_now(),
                          BY_LOGIN))
    return store.path


def expiry_warning(entry: Entry, now: dt.datetime | None = None) -> str | None:
    """One line when the token is more than five months old, else None."""
    days = entry.age_days(now)
    if days <= WARN_AFTER_DAYS:
        return None
    expires = (entry.authorized_at + dt.timedelta(days=LIFETIME_DAYS)).date()
    when = f"around {expires}" if entry.authorized_by == BY_LOGIN else f"by {expires} at the latest"
    return (f"Ads refresh token {entry.describe_age(now)}: Spotify refresh tokens expire "
            f"6 months after authorization ({when}); run `tap-spotify-bulk ads-login` and "
            "update `ads_refresh_token` before then.")


__all__ = ["ADS_TOKEN_STORE", "Entry", "StoredRefreshToken", "TokenStore", "default_directory",
           "directory", "expiry_warning", "for_config", "record_login"]
