"""Settings are declared once: the JSON schema, the checks, `meltano.yml`, `plugin.yml` and
the README table all follow the declarations, and a drift in any file fails here."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_spotify_bulk import __version__
from tap_spotify_bulk.errors import ConfigError
from tap_spotify_bulk.plugin_definition import (
    README_END,
    README_START,
    capabilities,
    extractor_settings,
    plugin_definition,
    settings_table,
    with_settings_table,
)
from tap_spotify_bulk.tap import SETTINGS, TapSpotifyBulk

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).parent / "tap-spotify-bulk")


def load_script():
    spec = importlib.util.spec_from_file_location("settings_docs",
                                                  ROOT / "scripts" / "settings_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def meltano_extractor() -> dict:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    [tap] = [e for e in project["plugins"]["extractors"] if e["name"] == "tap-spotify-bulk"]
    return tap


def test_meltano_yml_declares_exactly_the_declared_settings():
    """Names, kinds, defaults, secrecy, options, labels and descriptions, in order."""
    declared = meltano_extractor()["settings"]
    expected = extractor_settings()
    assert [s["name"] for s in declared] == [s["name"] for s in expected]
    for mine, theirs in zip(declared, expected, strict=True):
        assert mine == theirs, f"meltano.yml drifted for `{theirs['name']}`"


def test_meltano_yml_has_the_capabilities_about_reports():
    about = subprocess.run([COMMAND, "--about", "--format=json"], capture_output=True,
                           text=True, timeout=120, check=True)
    reported = json.loads(about.stdout)["capabilities"]
    assert meltano_extractor()["capabilities"] == reported == capabilities()
    assert {"batch", "structured-logging", "state", "catalog"} <= set(reported)


def test_a_drifted_meltano_yml_would_be_noticed():
    """The comparison above is not vacuous: each kind of drift changes the entries."""
    expected = extractor_settings()
    by_name = {s["name"]: s for s in expected}
    for name, key, value in (("lookback_days", "value", 7), ("client_secret", "sensitive", False),
                             ("start_date", "kind", "string"), ("ads_sync_mode", "options", [])):
        drifted = copy.deepcopy(expected)
        next(s for s in drifted if s["name"] == name)[key] = value
        assert drifted != expected, name
    assert by_name["lookback_days"]["value"] == 3
    assert by_name["client_secret"]["sensitive"] is True
    assert by_name["time_period"]["kind"] == "options"


def test_plugin_yml_and_readme_are_current():
    script = load_script()
    for path, text in script.expected_files().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python scripts/settings_docs.py")


def test_plugin_yml_is_a_hub_definition_from_the_declarations():
    definition = yaml.safe_load((ROOT / "plugin.yml").read_text())
    assert definition == plugin_definition()
    assert definition["name"] == definition["executable"] == "tap-spotify-bulk"
    assert definition["namespace"] == "tap_spotify_bulk"
    assert definition["pip_url"].endswith(__version__)
    names = {s["name"] for s in definition["settings"]}
    for group in definition["settings_group_validation"]:
        assert set(group) <= names
    assert ["client_id", "client_secret", "licensor"] in definition["settings_group_validation"]
    assert {s.name for s in SETTINGS} <= names
    for entry in definition["settings"]:
        assert entry.get("label") and entry.get("description"), entry["name"]


def test_readme_table_lists_every_setting_once():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index(README_START):readme.index(README_END)]
    for setting in SETTINGS:
        assert table.count(f"| `{setting.name}` |") == 1, setting.name
    assert with_settings_table(readme.replace(table, README_START + "\n")) == readme
    assert settings_table() in readme


def test_settings_docs_check_fails_on_a_stale_file(tmp_path, monkeypatch):
    script = load_script()
    (tmp_path / "README.md").write_text(f"x\n{README_START}\nold\n{README_END}\n")
    monkeypatch.setattr(script, "ROOT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["settings_docs.py", "--check"])
    assert script.main() == 1
    monkeypatch.setattr(sys, "argv", ["settings_docs.py"])
    assert script.main() == 0
    monkeypatch.setattr(sys, "argv", ["settings_docs.py", "--check"])
    assert script.main() == 0
    assert (tmp_path / "plugin.yml").read_text().startswith("# Meltano plugin definition")


def test_schema_is_built_from_the_declarations():
    properties = TapSpotifyBulk.config_jsonschema["properties"]
    assert list(properties)[: len(SETTINGS)] == [s.name for s in SETTINGS]
    for setting in SETTINGS:
        assert properties[setting.name].get("default") == setting.default, setting.name
        assert bool(properties[setting.name].get("secret")) == setting.sensitive


def test_every_default_passes_its_own_check():
    for setting in SETTINGS:
        if setting.default is not None:
            setting.value({setting.name: setting.default})


INTEGERS = [s for s in SETTINGS if s.kind == "integer"]
URLS = [s for s in SETTINGS if s.kind == "url"]


@pytest.mark.parametrize("setting", INTEGERS, ids=[s.name for s in INTEGERS])
@pytest.mark.parametrize("bad", ["5", 1.5, True, -1, None])
def test_one_integer_check(setting, bad):
    if bad is None:  # the minimum itself minus one
        bad = setting.minimum - 1
    with pytest.raises(ConfigError, match=f"`{setting.name}` must be an integer >= "
                                          f"{setting.minimum}"):
        setting.value({setting.name: bad})
    assert setting.value({setting.name: setting.minimum + 4}) == setting.minimum + 4


@pytest.mark.parametrize("setting", URLS, ids=[s.name for s in URLS])
def test_one_url_check(setting):
    for bad in ("example.com/x", "ftp://example.com", 42):
        with pytest.raises(ConfigError, match=f"`{setting.name}` must be an http"):
            setting.value({setting.name: bad})
    assert setting.value({setting.name: "http://127.0.0.1:8/x/"}) == "http://127.0.0.1:8/x"


def test_sensitive_values_are_never_quoted():
    for setting in SETTINGS:
        if setting.sensitive:
            with pytest.raises(ConfigError) as caught:
                setting.value({setting.name: ["s3cr3t-value"]})
            assert "s3cr3t" not in str(caught.value)
