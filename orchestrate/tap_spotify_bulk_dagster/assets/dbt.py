"""The dbt project (transform/) as Dagster assets: `current_*` models and marts downstream of
the Bulk report assets and the Ads asset, dbt tests as asset checks.

dagster-dbt needs the project's `manifest.json` when the code location loads: it is made here
(`dbt parse`, a few seconds, no connection) when missing or older than a file of the project.
dbt reaches the warehouse through the project's own profile (`transform/profiles`), whose
`TARGET_POSTGRES_*` variables are set for each dbt call from the `PostgresWarehouse` resource:
the loader and dbt share one configuration (the code location's `PG*` and `SPOTIFY_SCHEMA`).

Every dbt call builds the whole project (models, then their tests): a partial selection would
run tests that read marts it did not build. Builds in one schema take turns (an advisory
lock), so runs of several days that end together do not replace the same tables at once.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
import contextlib
import importlib.metadata
import json
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from tap_spotify_bulk_dagster.resources.tap import resolve_executable
from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse
from tap_spotify_bulk_dagster.streams import BULK_TABLES

DISTRIBUTION = "tap-spotify-bulk-dagster"
DBT_GROUP = "spotify_models"
ADS_KEY = dg.AssetKey(["spotify", "ads_reports"])
MANIFEST_TARGET = Path("target") / "dagster"  # inside the project; dbt's own runs use target/
_PROJECT_FILES = ("dbt_project.yml", "models", "macros", "tests", "profiles")


def project_dir() -> Path:
    """The dbt project: `SPOTIFY_DBT_PROJECT_DIR`; else `transform/` of the checkout this code
    location comes from (run from its source, or installed from it, also by the root
    project's `orchestrate` extra: pip records the source directory, PEP 610)."""
    configured = os.environ.get("SPOTIFY_DBT_PROJECT_DIR")
    candidates = [Path(configured)] if configured else [
        Path(__file__).resolve().parents[3] / "transform", *_installed_from()]
    for path in candidates:
        if (path / "dbt_project.yml").exists():
            return path
    msg = (f"no dbt project at {candidates[0]}: set SPOTIFY_DBT_PROJECT_DIR to the "
           "repository's transform/ directory")
    raise FileNotFoundError(msg)


def _installed_from() -> list[Path]:
    """`transform/` beside the directory this distribution was installed from, if known."""
    try:
        text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return []
    url = json.loads(text or "{}").get("url", "")
    if not url.startswith("file://"):
        return []
    return [Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path)).parent
            / "transform"]


def _newest_change(root: Path) -> float:
    newest = 0.0
    for name in _PROJECT_FILES:
        path = root / name
        paths = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def dbt_project() -> DbtProject:
    """The project with a current manifest: parsed now when it is missing or stale."""
    root = project_dir()
    project = DbtProject(project_dir=root, profiles_dir=root / "profiles", target="postgres",
                         target_path=MANIFEST_TARGET)
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_change(root):
        project.preparer.prepare(project)
    return project


def profile_env(warehouse: PostgresWarehouse) -> dict[str, str]:
    """The variables the project's `postgres` profile reads, from the warehouse resource."""
    return {"TARGET_POSTGRES_HOST": warehouse.host, "TARGET_POSTGRES_PORT": str(warehouse.port),
            "TARGET_POSTGRES_USER": warehouse.user,
            "TARGET_POSTGRES_PASSWORD": warehouse.password,
            "TARGET_POSTGRES_DATABASE": warehouse.database,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": warehouse.schema_name}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ for the block (dagster-dbt hands dbt a copy of os.environ)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class SpotifyDbtTranslator(DagsterDbtTranslator):
    """Models as `spotify/<model>` in their own group; the Bulk tables as the Bulk report
    assets (`spotify/<stream>`) and the Ads report table as the Ads asset."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "source" and name not in BULK_TABLES:
            return ADS_KEY
        return dg.AssetKey(["spotify", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return DBT_GROUP


def dbt_models(project: DbtProject | None = None) -> dg.AssetsDefinition:
    """The dbt assets of `project` (default: `dbt_project()`)."""
    project = project or dbt_project()

    @dbt_assets(manifest=project.manifest_path, project=project, name="spotify_dbt",
                dagster_dbt_translator=SpotifyDbtTranslator())
    def spotify_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                    warehouse: PostgresWarehouse) -> Iterator[Any]:
        with (tempfile.TemporaryDirectory(prefix="spotify-dbt-") as target,
              warehouse.exclusive("dbt")):
            with _environment(profile_env(warehouse)):
                invocation = dbt.cli(["build"], context=context, target_path=Path(target))
            yield from invocation.stream()

    return spotify_dbt


def dbt_resource(project: DbtProject) -> DbtCliResource:
    """dbt of this environment (beside this Python, else on PATH) for `project`."""
    return DbtCliResource(project_dir=project, profiles_dir=str(project.profiles_dir),
                          target="postgres", dbt_executable=resolve_executable("dbt"))
