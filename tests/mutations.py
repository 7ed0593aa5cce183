"""Planted bugs, each of which the test suite must catch.

    .venv/bin/python tests/mutations.py [--only NAME ...] [--keep]

For each mutation: copy the repository's tracked files into a scratch directory, apply one
small edit to the tap's code, and run the tests that should catch it there (the scratch
copy's `tap_spotify_bulk` and `spotify_sandbox` come first on PYTHONPATH, also for the tap
subprocesses the tests start). First the same tests run on the unmutated copy and must
pass. A mutation is caught when its tests fail. The script exits non-zero if the baseline
fails or any mutation survives. (Not a test module: pytest does not collect it.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Mutation(t.NamedTuple):
    name: str
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


FULL_SYNC = "tests/tap/test_bulk_sync.py::test_full_sync_matches_ground_truth"
MUTATIONS = (
    Mutation("null_a_field", "every streams.source_uri emitted as null",
             "tap_spotify_bulk/bulk/records.py",
             '            record["licensor"] = licensor\n',
             '            if "source_uri" in record:\n'
             '                record["source_uri"] = None\n'
             '            record["licensor"] = licensor\n',
             (FULL_SYNC,)),
    Mutation("swap_a_value", "every spliced record's report_date emitted as its licensor",
             "tap_spotify_bulk/bulk/records.py",
             '    columns = orjson.dumps({"licensor": licensor, "report_date": report_date,\n',
             '    columns = orjson.dumps({"licensor": licensor, "report_date": licensor,\n',
             (FULL_SYNC,)),
    Mutation("swap_a_typed_value", "every typed user's region emitted as their country",
             "tap_spotify_bulk/bulk/records.py",
             '            record["licensor"] = licensor\n',
             '            if "region" in record:\n'
             '                record["region"] = record.get("country")\n'
             '            record["licensor"] = licensor\n',
             ("tests/tap/test_bulk_sync.py::"
              "test_sdk_path_for_stream_maps_and_deselected_fields",)),
    Mutation("wrong_type_passed_through",
             "the line-by-line type check looks at keys only: a wrong-typed value emitted raw",
             "tap_spotify_bulk/bulk/records.py",
             "        verdict = all(key in types and type(value) in types[key] for key, value in "
             "line.items())\n",
             "        verdict = all(key in types for key in line)\n",
             ("tests/tap/test_bulk_sync.py::"
              "test_the_same_keys_with_another_type_are_typed_line_by_line",)),
    Mutation("extra_key_dropped", "unknown line keys no longer kept in `extra`",
             "tap_spotify_bulk/bulk/records.py",
             "                    if allowed is None:\n"
             "                        extra[key] = value\n",
             "                    if allowed is None:\n"
             "                        pass\n",
             (FULL_SYNC,)),
    Mutation("batch_row_numbers_shifted",
             "records spliced a batch at once numbered from the next row",
             "tap_spotify_bulk/bulk/records.py",
             "                        for row, line in enumerate(lines, first_row)], odd\n",
             "                        for row, line in enumerate(lines, first_row + 1)], odd\n",
             (FULL_SYNC,)),
    Mutation("run_row_numbers_shifted",
             "clean lines after an odd line of their batch numbered from the next row",
             "tap_spotify_bulk/bulk/records.py",
             "                          for number, line in enumerate(run, row)]\n",
             "                          for number, line in enumerate(run, row + 1)]\n",
             ("tests/tap/test_line_batches.py",)),
    Mutation("whitespace_line_numbered",
             "a line of only whitespace among clean lines counted as a record",
             "tap_spotify_bulk/bulk/records.py",
             "            if not lines[start].isspace():\n",
             "            if lines[start]:\n",
             ("tests/tap/test_line_batches.py",)),
    Mutation("odd_line_misplaced",
             "an odd line after blank lines looked up as if the blank lines were not there",
             "tap_spotify_bulk/bulk/records.py",
             "            odd = [(before, at[index]) for before, index in odd]\n",
             "            odd = [(before, index) for before, index in odd]\n",
             ("tests/tap/test_line_batches.py",)),
    Mutation("batch_takes_any_country",
             "a batch whose lines name another country is spliced as it is",
             "tap_spotify_bulk/bulk/records.py",
             "                    fields.append((name, t.Literal[country], msgspec.NODEFAULT))\n",
             "                    fields.append((name, str, msgspec.NODEFAULT))\n",
             ("tests/tap/test_line_batches.py",)),
    Mutation("basic_header_logged",
             "an invalid_client error carries the Basic header it sent (wrong credentials)",
             "tap_spotify_bulk/auth.py",
             '                f"check {creds}."\n',
             '                f"check {creds}. (sent: Basic {self._basic})"\n',
             ("tests/tap/test_cli_bulk.py::"
              "test_runtime_failures_are_one_line_exit_1_without_secrets",)),
    Mutation("day_resume_from_yesterday",
             "an Ads DAY report resumed from a bookmark starts at yesterday",
             "tap_spotify_bulk/ads/windows.py",
             "    return resume if start is None else max(resume, start)\n",
             "    return today - dt.timedelta(days=1)\n",
             ("tests/tap/test_properties_ads_windows.py",)),
    Mutation("batch_files_announced_late",
             "in BATCH mode a date's files are announced after its manifest (or at the end)",
             "tap_spotify_bulk/bulk/sync.py",
             "        for target in active:\n"
             "            target.sink.end_day()\n"
             "        missing = read.missing or job.missing\n",
             "        missing = read.missing or job.missing\n",
             ("tests/tap/test_message_order.py::"
              "test_batch_mode_with_the_manifest_keeps_the_order",)),
    Mutation("download_count_changed", "a corrupt file is downloaded 2 times, not 4",
             "tap_spotify_bulk/bulk/client.py",
             "DOWNLOAD_TRIES = 4 ",
             "DOWNLOAD_TRIES = 2 ",
             ("tests/tap/test_contract_bulk.py::"
              "test_file_cut_mid_line_inside_a_valid_gzip_is_downloaded_again_then_fails",)),
)


def scratch_copy(target: Path) -> None:
    """The repository's tracked files (as they are in the work tree) under `target`."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def apply(root: Path, mutation: Mutation) -> None:
    path = root / mutation.path
    text = path.read_text()
    if text.count(mutation.old) != 1:
        msg = f"{mutation.name}: the code to mutate is not found once in {mutation.path}"
        raise SystemExit(msg)
    path.write_text(text.replace(mutation.old, mutation.new))


def run_tests(root: Path, tests: t.Sequence[str]) -> tuple[bool, float, str]:
    """(passed?, seconds, last lines of output) of the tests, run in `root`."""
    paths = [str(root), str(root / "sandbox"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           *tests], cwd=root, env=env, capture_output=True, text=True,
                          check=False, timeout=1800)
    tail = "\n".join(done.stdout.strip().splitlines()[-3:])
    return done.returncode == 0, time.monotonic() - began, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[m.name for m in MUTATIONS])
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    work = Path(tempfile.mkdtemp(prefix="mutations-"))
    try:
        baseline = work / "baseline"
        scratch_copy(baseline)
        tests = sorted({test for m in chosen for test in m.tests})
        passed, seconds, tail = run_tests(baseline, tests)
        print(f"baseline (no mutation): {'pass' if passed else 'FAIL'} in {seconds:.0f}s",
              flush=True)
        if not passed:
            print(tail)
            return 1
        survivors = []
        for mutation in chosen:
            root = work / mutation.name
            shutil.copytree(baseline, root)
            apply(root, mutation)
            passed, seconds, tail = run_tests(root, mutation.tests)
            verdict = "SURVIVED" if passed else "caught"
            print(f"{mutation.name:26} {verdict:8} in {seconds:4.0f}s  {mutation.what}; "
                  f"by {', '.join(mutation.tests)}", flush=True)
            if passed:
                survivors.append(mutation.name)
        print(f"{len(chosen) - len(survivors)} of {len(chosen)} planted bugs caught"
              + (f"; survived: {', '.join(survivors)}" if survivors else ""))
        return 1 if survivors else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
