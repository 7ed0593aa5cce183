"""The tap resource (its config, its executable, how partitions are sliced into days), and
what every process the code location starts needs: an executable's path, a private config."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

# Settings a slice decides itself (its dates) or that belong to the other API.
_WINDOW_SETTINGS = ("start_date", "end_date", "start_days_back", "end_days_back")


def resolve_executable(name: str, plugin_kind: str | None = None) -> str:
    """An absolute path for `name`: as given if absolute; else beside this Python (the
    orchestrator's virtualenv), on PATH, or in the Meltano project's installed plugin."""
    if Path(name).is_absolute():
        return name
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    root = os.environ.get("MELTANO_PROJECT_ROOT", ".")
    sys_dir = Path(os.environ.get("MELTANO_SYS_DIR_ROOT", Path(root) / ".meltano"))
    if plugin_kind:
        plugin = sys_dir / plugin_kind / name / "venv" / "bin" / name
        if plugin.exists():
            return str(plugin)
    msg = (f"cannot find the executable {name!r}: install it, or set its absolute path "
           "(for a Meltano plugin: `meltano install` in the project)")
    raise FileNotFoundError(msg)


def write_private(path: Path, payload: dict[str, Any]) -> Path:
    """Write a JSON config readable by this user only (it may hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(payload, out)
    return path


class SpotifyTap(ConfigurableResource):
    """tap-spotify-bulk: its base config (a JSON file or JSON text; secrets stay out of
    Dagster's storage when given as `EnvVar`) and how partitions are sliced."""

    config_file: str = ""
    config_json: str = ""
    executable: str = "tap-spotify-bulk"
    max_parallel: int = 4  # slices (days) of one run at once, each its own tap | target pair
    publish_lag_days: int = 3  # a 404 this recent means "not published yet", older "no data"
    # Days before yesterday that every daily tick loads again (restatements), as a daily
    # Meltano run does with the tap's `lookback_days` (default 3).
    reread_days: int = 3
    today: str = ""  # YYYY-MM-DD; empty: the current UTC date
    max_workers: int = 0  # the tap's concurrent downloads per slice; 0: the tap's default

    def base_config(self) -> dict[str, Any]:
        if self.config_json:
            config = json.loads(self.config_json)
        elif self.config_file:
            config = json.loads(Path(self.config_file).read_text(encoding="utf-8"))
        else:
            msg = "SpotifyTap needs `config_file` or `config_json` (the tap's config)"
            raise ValueError(msg)
        if not isinstance(config, dict):
            msg = "the tap's config must be a JSON object"
            raise ValueError(msg)
        return config

    def command(self) -> list[str]:
        return [resolve_executable(self.executable)]

    def config_key(self) -> str:
        """Identifies the config (for the discovery cache) without keeping its secrets."""
        text = json.dumps(self.base_config(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def bulk_day_config(self, day: str) -> dict[str, Any]:
        """The tap's config for one day of the Bulk reports: the day is the whole window
        (the partition is the bookmark: no state), no Ads reports."""
        config = {k: v for k, v in self.base_config().items() if k not in _WINDOW_SETTINGS}
        config.pop("ads_report_list", None)
        config.update(start_date=day, end_date=day, lookback_days=1)
        if self.max_workers:
            config["max_workers"] = self.max_workers
        return config

    def ads_config(self) -> dict[str, Any]:
        return self.base_config()

    def current_day(self) -> dt.date:
        if self.today:
            return dt.date.fromisoformat(self.today)
        return dt.datetime.now(dt.UTC).date()

    def recent_days(self, days_back: int) -> list[str]:
        """The `days_back` days up to yesterday, oldest first."""
        today = self.current_day()
        return [(today - dt.timedelta(days=n)).isoformat() for n in range(days_back, 0, -1)]

    def reread_window(self) -> list[str]:
        """Yesterday and the `reread_days` days before it: what each daily tick loads."""
        return self.recent_days(self.reread_days + 1)

    def publication_window(self) -> list[str]:
        """The days a 404 may still turn into data (`publish_lag_days` up to yesterday)."""
        return self.recent_days(self.publish_lag_days)

    def may_be_unpublished(self, day: str) -> bool:
        """Whether a 404 on `day` may still turn into data (Spotify publishes 1-3 days late)."""
        age = (self.current_day() - dt.date.fromisoformat(day)).days
        return age <= self.publish_lag_days
