"""The retry policy of the assets that load the reports: a failed step runs again twice,
after 30 seconds and then after 60."""

import dagster as dg

RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
