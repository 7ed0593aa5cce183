# Sourced by scripts/test and scripts/demo: make sure $VENV (default .venv) exists and holds
# the project with its dev and orchestrate (Dagster) extras (re-installed when pyproject.toml
# changed), then put it first on PATH. Sets `venv` to its absolute path.
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtualenv $venv" >&2
  if ! "${PYTHON:-python3}" -m venv "$venv" >&2; then
    # Debian/Ubuntu ship venv's ensurepip separately (python3-venv).
    rm -rf "$venv"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "installing python3-venv with apt-get" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
      "${PYTHON:-python3}" -m venv "$venv" >&2
    else
      echo "cannot create a virtualenv: install python3-venv (or set VENV to an existing one)" >&2
      exit 1
    fi
  fi
fi
if ! "$venv/bin/python" -I -c "import tap_spotify_bulk, spotify_sandbox, pytest, meltano, psycopg, duckdb, dagster, dagster_dbt, tap_spotify_bulk_dagster" 2>/dev/null \
   || [ pyproject.toml -nt "$venv/.tap-spotify-bulk-installed" ] \
   || [ sandbox/pyproject.toml -nt "$venv/.tap-spotify-bulk-installed" ] \
   || [ orchestrate/pyproject.toml -nt "$venv/.tap-spotify-bulk-installed" ]; then
  echo "installing tap-spotify-bulk with its dev extras into $venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q -e '.[dev,orchestrate]' >&2
  # The extras install the sandbox (sandbox/) and the Dagster code location (orchestrate/),
  # each its own distribution; make those installs editable too.
  "$venv/bin/python" -m pip install -q --no-deps -e ./sandbox -e ./orchestrate >&2
  touch "$venv/.tap-spotify-bulk-installed"
fi
venv="$(cd "$venv" && pwd)"
export PATH="$venv/bin:$PATH"
