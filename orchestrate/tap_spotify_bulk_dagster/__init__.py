"""A Dagster code location for tap-spotify-bulk: daily-partitioned Bulk report assets loaded
by parallel tap | target-postgres slices, and the Ads reports on their own schedule."""
