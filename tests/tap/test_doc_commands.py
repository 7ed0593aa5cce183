"""The docs' shell commands work as written on the pinned versions.

Command blocks are fenced as ```sh (the only language for shell commands); the test reads
every one of README.md, docs/*.md and the other READMEs, and inline `meltano ...` spans:

* every `meltano` command parses on the installed Meltano (`<command> --help`, which Meltano
  answers before doing anything), and every `meltano config set|list <plugin> <setting>`
  names a plugin and a setting `meltano config list <plugin> --all` knows;
* the safe `tap-spotify-bulk` commands (`--help`, `--about`, `--version`, `--discover`,
  `--check`) run against the sandbox, with the config file they name;
* `meltano invoke tap-spotify-bulk --check` runs in the Meltano project (end to end);
* no doc names a path of one machine.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.meltano import MELTANO, REPO, MeltanoProject, plugin_env

DOCS = sorted({REPO / "README.md", *(REPO / "docs").glob("*.md"), *REPO.glob("*/README.md"),
               *REPO.glob("tests/*/README.md")})
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```",
                   re.S | re.M)
INLINE_MELTANO = re.compile(r"(?<!`)`(meltano [^`]+)`(?!`)")
# Languages a fenced block may have: `sh` for commands, the rest for what is not run.
LANGUAGES = {"sh", "text", "yaml", "json", "python", "cron", "sql", "dot"}
SEPARATORS = {";", "&&", "||", "|", "&"}
SAFE_TAP_OPTIONS = {"--help", "--about", "--version", "--discover", "--check"}
# A path that exists on one machine only: a home, a scratch or a checkout directory.
MACHINE_PATH = re.compile(r"(?<![\w.~$/-])/(home|root|work|tmp|Users|mnt|private|var/folders)/")


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    where: str  # file:line, for failure messages
    inline: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {shlex.join(self.words)}"


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def fenced_blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, line) of each fenced block of a doc."""
    text = path.read_text(encoding="utf-8")
    return [(m["lang"], m["body"], text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def split_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line: comments dropped, split at ; && || | &."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for word in lexer:
        if word in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def doc_commands() -> list[Command]:
    """Every command of every ```sh block, and every inline `meltano ...` span."""
    found = []
    for path in DOCS:
        for lang, body, first in fenced_blocks(path):
            if lang != "sh":
                continue
            logical = re.sub(r"\\\n\s*", " ", body)  # continuation lines
            for offset, line in enumerate(logical.splitlines()):
                found += [Command(tuple(words), f"{rel(path)}:{first + 1 + offset}")
                          for words in split_commands(line)]
        text = path.read_text(encoding="utf-8")
        for match in INLINE_MELTANO.finditer(" ".join(text.split())):
            if "…" not in match[1] and "..." not in match[1]:
                found += [Command(tuple(words), f"{rel(path)} (inline)", inline=True)
                          for words in split_commands(match[1])]
    return found


COMMANDS = doc_commands()


def meltano_commands() -> list[Command]:
    return [c for c in COMMANDS if c.words[0] == "meltano"]


def tap_commands() -> list[Command]:
    return [c for c in COMMANDS if c.words[0] == "tap-spotify-bulk"
            and SAFE_TAP_OPTIONS & set(c.words) and not {">", "<"} & set(c.words)]


def test_command_blocks_are_marked_sh_and_found():
    problems = [f"{rel(path)}:{line}: ```{lang or '(no language)'}"
                for path in DOCS for lang, _body, line in fenced_blocks(path)
                if lang not in LANGUAGES]
    assert problems == [], "fence shell commands as ```sh, anything else as text/yaml/...: " \
        + "; ".join(problems)
    programs = {c.words[0] for c in COMMANDS}
    assert {"meltano", "tap-spotify-bulk", "scripts/demo"} <= programs, programs
    assert tap_commands(), "the docs show no safe tap command"


def test_no_doc_names_a_path_of_one_machine():
    named = []
    for path in [*DOCS, REPO / "meltano.yml", REPO / "plugin.yml"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if MACHINE_PATH.search(line):
                named.append(f"{rel(path)}:{number}: {line.strip()}")
    assert named == [], "use a relative path or a placeholder: " + "; ".join(named)


# In-process Meltano (one start-up for every command): each args list's exit code and output.
MELTANO_BATCH = """
import json, sys
from click.testing import CliRunner
from meltano.cli import cli
results = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(cli, args)
    results.append({"exit_code": result.exit_code, "output": result.output})
with open(sys.argv[2], "w") as out:
    json.dump(results, out)
"""


def run_meltano_batch(tmp_path: Path, calls: list[list[str]]) -> list[dict[str, t.Any]]:
    project = MeltanoProject(tmp_path / "meltano.db")
    results = tmp_path / "results.json"
    python = str(Path(MELTANO).with_name("python"))
    done = subprocess.run([python, "-c", MELTANO_BATCH, json.dumps(calls), str(results)],
                          cwd=REPO, env=project.env(), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(results.read_text())


def config_setting(words: tuple[str, ...]) -> tuple[str, str | None] | None:
    """(plugin, setting or None) of `meltano config set|list|unset ...`, else None."""
    args = [w for w in words[1:] if not w.startswith("-")]
    if args[:1] != ["config"] or len(args) < 3 or args[1] not in {"set", "list", "unset"}:
        return None
    if args[2].startswith("<"):  # a placeholder: `meltano config list <plugin>`
        return None
    return args[2], (args[3] if args[1] != "list" and len(args) > 3 else None)


@pytest.mark.slow
def test_meltano_commands_parse_and_name_known_settings(tmp_path):
    """`meltano ... --help` for each command (never for `invoke`, which would run the
    plugin), then `meltano config list <plugin> --all` for each plugin a command configures."""
    commands = [c for c in meltano_commands() if c.words[1:2] != ("invoke",)]
    configured = {c: config_setting(c.words) for c in commands}
    plugins = sorted({found[0] for found in configured.values() if found})
    calls = [[*c.words[1:], "--help"] for c in commands]
    calls += [["config", "list", plugin, "--all"] for plugin in plugins]
    results = run_meltano_batch(tmp_path, calls)
    failed = [f"{c} -> exit {r['exit_code']}: {r['output'].strip().splitlines()[-1:]}"
              for c, r in zip(commands, results, strict=False) if r["exit_code"] != 0]
    assert failed == [], "\n".join(failed)
    settings = {plugin: r["output"] for plugin, r in zip(plugins, results[len(commands):],
                                                          strict=True)}
    unknown = []
    for command, found in configured.items():
        if found and found[1] and not re.search(rf"^{re.escape(found[1])} \[env:",
                                                settings[found[0]], re.M):
            unknown.append(str(command))
    assert unknown == [], "settings Meltano does not know: " + "; ".join(unknown)
    assert plugins, "no `meltano config` command found"


def test_safe_tap_commands_run_against_the_sandbox(sandbox, tmp_path):
    """Each command as written, in a directory holding the config files it names (the
    sandbox's): exit 0, and `--check` reports both APIs in its one line."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    env = {k: v for k, v in env.items() if not k.startswith("TAP_SPOTIFY_BULK_")}
    for command in tap_commands():
        words = list(command.words)
        for index, word in enumerate(words[:-1]):
            if word == "--config" and words[index + 1] != "ENV":
                (tmp_path / words[index + 1]).write_text(json.dumps(sandbox.tap_config()))
        done = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=180, check=False)
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        if "--check" in words:
            [line] = done.stdout.splitlines()
            assert "Bulk API ok" in line and "Ads API ok" in line, (str(command), line)
            assert done.stderr == "", (str(command), done.stderr)


@pytest.mark.e2e
@pytest.mark.slow
def test_meltano_invoke_commands_run_in_the_project(meltano_project, sandbox):
    invoked = [c for c in meltano_commands() if c.words[1:3] == ("invoke", "tap-spotify-bulk")
               and SAFE_TAP_OPTIONS & set(c.words)]
    assert invoked, "the docs show no `meltano invoke tap-spotify-bulk` check"
    env = plugin_env("TAP_SPOTIFY_BULK_", sandbox.tap_config())
    for command in invoked:
        done = meltano_project.meltano(*command.words[1:], env=env)
        assert "tap-spotify-bulk: check: Bulk API ok" in done.stdout + done.stderr, str(command)


def test_the_readme_names_the_sandbox_start_command_once():
    starts = [c for c in COMMANDS if c.where.startswith("README.md:")
              and c.words[0] == "tap-spotify-bulk-sandbox"]
    assert len(starts) == 1, [str(c) for c in starts]
    config = starts[0].words[starts[0].words.index("--config-out") + 1]
    checks = [c for c in tap_commands() if c.where.startswith("README.md:")
              and "--check" in c.words and config in c.words]
    assert checks, "the README's check does not use the config the sandbox writes"
