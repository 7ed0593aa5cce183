"""A Meltano project that never saw this repository's meltano.yml: `meltano init` in a
temporary folder, the tap added from plugin.yml with `pip_url` pointing at a freshly built
wheel, loaders declared there as custom plugins, `meltano install`, then runs against the
sandbox into target-jsonl and target-postgres whose data must equal the sandbox's truth."""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t
import zipfile
from pathlib import Path

import psycopg
import pytest
import yaml
from helpers.meltano import (
    MELTANO,
    REPO,
    compare_bulk,
    jsonl_rows,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    target_postgres_env,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Loaders as a user's project would declare them: custom plugins, pinned, no Hub.
LOADERS = [
    {"name": "target-jsonl", "namespace": "target_jsonl", "pip_url": "target-jsonl==0.1.4",
     "executable": "target-jsonl",
     "settings": [{"name": "destination_path", "kind": "string"},
                  {"name": "do_timestamp_file", "kind": "boolean"}]},
    {"name": "target-postgres", "namespace": "target_postgres",
     "pip_url": "meltanolabs-target-postgres==0.8.1", "executable": "target-postgres",
     "settings": [{"name": name, "kind": kind} for name, kind in (
         ("host", "string"), ("port", "integer"), ("user", "string"),
         ("password", "string"), ("database", "string"),
         ("default_target_schema", "string"))]},
]


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root

    def meltano(self, *args: str, env: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> str:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("TAP_SPOTIFY_BULK_", "TARGET_", "MELTANO_"))}
        base.update({"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                     "MELTANO_HUB_URL": "http://127.0.0.1:9",  # the Hub is never needed
                     "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
                     **(env or {})})
        done = subprocess.run([MELTANO, *args], cwd=cwd or self.root, env=base,
                              capture_output=True, text=True, timeout=1200, check=False)
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        assert done.returncode == 0, f"meltano {' '.join(args)}:\n{tail}"
        return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    base = tmp_path_factory.mktemp("separate")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(base / "dist"), str(REPO)], check=True, timeout=600,
                   capture_output=True)
    [wheel] = (base / "dist").glob("tap_spotify_bulk-*.whl")
    Project(base).meltano("init", "--no-usage-stats", "project")
    project = Project(base / "project")
    project.meltano("add", "--no-install", "--plugin-type", "extractor", "tap-spotify-bulk",
                    "--from-ref", str(REPO / "plugin.yml"))
    path = project.root / "meltano.yml"
    config = yaml.safe_load(path.read_text())
    [tap] = config["plugins"]["extractors"]
    assert tap["settings_group_validation"] and tap["capabilities"]
    tap["pip_url"] = str(wheel)
    config["plugins"]["loaders"] = LOADERS
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    project.meltano("install")
    return project


def tap_env(sb: t.Any) -> dict[str, str]:
    config = sb.tap_config(ads_report_list=[])
    return plugin_env("TAP_SPOTIFY_BULK_", config)


def test_jsonl_from_a_separate_project_equals_the_truth(project, sandbox_factory, tmp_path):
    sb = sandbox_factory(scale=300)
    out = tmp_path / "jsonl"
    out.mkdir()
    env = {**tap_env(sb), **plugin_env("TARGET_JSONL_", {"destination_path": str(out),
                                                         "do_timestamp_file": False})}
    project.meltano("run", "tap-spotify-bulk", "target-jsonl", env=env)
    problems = compare_bulk(sb.bulk_truth(), lambda table: jsonl_rows(out, table))
    assert problems == {}


def test_postgres_from_a_separate_project_equals_the_truth(project, sandbox_factory, postgres,
                                                           pg_schema):
    sb = sandbox_factory(scale=300)
    env = {**tap_env(sb), **target_postgres_env(postgres, pg_schema)}
    project.meltano("run", "tap-spotify-bulk", "target-postgres", env=env)
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        problems = compare_bulk(sb.bulk_truth(),
                                lambda table: postgres_rows(conn, pg_schema, table))
    assert problems == {}


def test_the_wheel_holds_the_tap_alone_and_every_module_imports(project: Project) -> None:
    """The Dagster code location and the sandbox are distributions of their own: the tap's
    wheel holds its package alone, and each of its modules imports in the plugin's virtualenv,
    which has neither Dagster nor dbt."""
    [wheel] = (project.root.parent / "dist").glob("tap_spotify_bulk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "tap_spotify_bulk", wheel.name.split("-py")[0] + ".dist-info"}
    modules = sorted(name[:-3].removesuffix("/__init__").replace("/", ".")
                     for name in names if name.endswith(".py") and "__main__" not in name)
    python = project.root / ".meltano/extractors/tap-spotify-bulk/venv/bin/python"
    done = subprocess.run(
        [str(python), "-I", "-c", "import importlib.util, sys\n"
         "for name in sys.argv[1:]: importlib.import_module(name)\n"
         "print(importlib.util.find_spec('dagster'), importlib.util.find_spec('dbt'))",
         *modules], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["None", "None"]
    assert len(modules) > 30
