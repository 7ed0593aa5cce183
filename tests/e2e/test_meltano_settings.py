"""meltano.yml stays in step with the tap: every setting of `config_jsonschema` is declared
with the same label, description, default and secrecy; loaders are pinned and Hub-free."""

from __future__ import annotations

import copy
import typing as t

import pytest
import yaml
from helpers.meltano import REPO

from tap_spotify_bulk.tap import TapSpotifyBulk

# SDK settings left out of meltano.yml: faker needs an extra the tap does not install.
UNDECLARED = {"faker_config"}
KINDS = {"string": "string", "integer": "integer", "number": "decimal", "array": "array",
         "object": "object", "boolean": "boolean"}


@pytest.fixture(scope="module")
def project() -> dict[str, t.Any]:
    return yaml.safe_load((REPO / "meltano.yml").read_text())


def extractor(project: dict[str, t.Any]) -> dict[str, t.Any]:
    [tap] = [p for p in project["plugins"]["extractors"] if "inherit_from" not in p]
    return tap


def test_tap_plugin_is_local_with_the_capabilities_meltano_needs(project: dict) -> None:
    tap = extractor(project)
    assert tap["name"] == "tap-spotify-bulk"
    assert tap["pip_url"] == "-e ."
    assert tap["executable"] == "tap-spotify-bulk"
    assert {"state", "catalog", "discover", "about", "stream-maps",
            "schema-flattening"} <= set(tap["capabilities"])
    assert project["default_environment"] in {e["name"] for e in project["environments"]}


def test_tap_settings_match_config_jsonschema(project: dict) -> None:
    full = copy.deepcopy(TapSpotifyBulk.config_jsonschema)
    TapSpotifyBulk.append_builtin_config(full)  # the SDK's stream maps, flattening, ...
    schema = full["properties"]
    declared = {s["name"]: s for s in extractor(project)["settings"]}
    assert set(declared) == set(schema) - UNDECLARED
    for name, setting in declared.items():
        prop = schema[name]
        types = [x for x in prop["type"] if x != "null"] if "type" in prop else []
        if "enum" in prop:
            assert setting["kind"] == "options", name
            assert [o["value"] for o in setting["options"]] == [
                v for v in prop["enum"] if v is not None], name
        elif prop.get("format") == "date":
            assert setting["kind"] == "date_iso8601", name
        else:
            assert setting["kind"] == KINDS[types[0]], name
        assert bool(setting.get("sensitive")) == bool(prop.get("secret")), name
        assert setting.get("label") == prop.get("title"), name
        assert setting.get("description") == prop.get("description"), name
        default = prop.get("default")
        assert setting.get("value") == (None if default == [] else default), name


def test_loaders_are_custom_pinned_plugins(project: dict) -> None:
    loaders = {p["name"]: p for p in project["plugins"]["loaders"]}
    assert set(loaders) == {"target-postgres", "target-jsonl", "target-duckdb"}
    assert loaders["target-postgres"]["pip_url"] == "meltanolabs-target-postgres==0.8.1"
    for loader in loaders.values():
        assert "variant" not in loader  # a variant makes Meltano ask the Hub
        assert loader["namespace"] and loader["executable"]
        assert all("==" in requirement for requirement in loader["pip_url"].split())
