"""Allow `python -m tap_spotify_bulk`."""

from tap_spotify_bulk.cli import main

main()
