"""A bookmark that does not parse stops the run before any request, with one line naming the
stream and `meltano state clear`, exit code 2: the same for Bulk and Ads streams."""

from __future__ import annotations

import pytest
from helpers.run import run_cli
from helpers.secrets import unique_credentials

DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND"]}


@pytest.mark.parametrize(("stream", "value"), [
    ("users", "garbage"),
    ("streams", "2024-13-45"),
    ("tracks", 20240301),
    ("campaign_day", "garbage"),
])
def test_a_bad_bookmark_is_one_line_exit_2_and_no_request(sandbox_factory, tmp_path,
                                                         stream, value):
    sb = sandbox_factory(**unique_credentials())
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN])
    state = {"bookmarks": {
        "users": {"replication_key": "report_date", "replication_key_value": "2024-03-03"},
        stream: {"replication_key": "report_date" if stream != "campaign_day"
                 else "start_time", "replication_key_value": value},
    }}
    if stream == "campaign_day":  # the Ads streams keep a bookmark per ad account
        state["bookmarks"][stream] = {"partitions": [
            {"context": {"ad_account_id": "a1"}, "replication_key": "start_time",
             "replication_key_value": value}]}
    run = run_cli(tmp_path, config, state=state, streams=["users", "streams", "tracks",
                                                           "campaign_day"], sandbox=sb)
    assert run.returncode == 2, run.stderr[-2000:]
    line = run.error_line()
    assert f"`{stream}`" in line
    assert "meltano state clear" in line
    assert not run.stdout.strip()
    assert sb.request_log == []
