# Sourced by scripts/test and scripts/demo: make sure $VENV (default .venv) exists and holds
# the project with its dev extras (re-installed when pyproject.toml changed), then put it
# first on PATH. Sets `venv` to its absolute path.
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtualenv $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
fi
if ! "$venv/bin/python" -I -c "import tap_spotify_bulk, pytest, meltano, psycopg, duckdb" 2>/dev/null \
   || [ pyproject.toml -nt "$venv/.tap-spotify-bulk-installed" ]; then
  echo "installing tap-spotify-bulk with its dev extras into $venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q -e '.[dev]' >&2
  touch "$venv/.tap-spotify-bulk-installed"
fi
venv="$(cd "$venv" && pwd)"
export PATH="$venv/bin:$PATH"
