"""Benchmarks of tap-spotify-bulk (scripts, not tests): throughput, latency, end to end.

Run them with `python -m benchmarks.<name> --help`; see benchmarks/README.md.
"""
