"""What the test suites share, one module per concern:

* `helpers.singer`: parse a tap's Singer output (`Output`) and check it (schemas, unique
  keys, STATE never ahead of the records, equal to the sandbox's ground truth);
* `helpers.run`: run the tap in this process (`run_tap`), as the real command (`run_cli`),
  or until killed (`run_until_killed`), with the one catalog-selection helper (`catalog`);
* `helpers.secrets`: credentials to scan for and the scanner every run helper applies;
* `helpers.ads`: Ads report keys, windows asked and the tally of what landed;
* `helpers.ads_contract`: the Ads contract suite's reshaped sandbox answers and truth;
* `helpers.meltano`: the repository's Meltano project against a sandbox, and what landed
  in PostgreSQL, DuckDB or JSONL.
"""

from helpers.gzip_files import verify_gzip
from helpers.singer import SCHEMA_DIR, assert_state_follows_data

__all__ = ["SCHEMA_DIR", "assert_state_follows_data", "verify_gzip"]
