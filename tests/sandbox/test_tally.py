"""The ground-truth fingerprint must not depend on how a target typed the values."""

import datetime as dt
from decimal import Decimal

from spotify_sandbox.tally import Tally, canonical


def test_canonical_forms_agree_across_targets():
    assert canonical(dt.date(2024, 3, 7)) == canonical("2024-03-07")
    assert canonical(Decimal("1.50")) == canonical(1.5) == "1.5"
    assert canonical(Decimal("3")) == canonical(3) == canonical(3.0) == "3"
    when = dt.datetime(2024, 3, 7, 5, tzinfo=dt.UTC)
    assert (
        canonical(when)
        == canonical("2024-03-07T05:00:00Z")
        == canonical("2024-03-07 05:00:00+00")
        == canonical("2024-03-07T06:00:00+01:00")
    )
    assert canonical(None) == ""
    assert canonical(True) == "true"


def test_tally_is_order_independent_and_content_sensitive():
    rows = [
        {"report_date": "2024-03-07", "track_href": f"t{i}", "skips": i, "country": "SE"}
        for i in range(50)
    ]
    forward = Tally.for_bulk_stream("aggregated_streams_skips").add_all(rows).summary()
    backward = Tally.for_bulk_stream("aggregated_streams_skips").add_all(rows[::-1]).summary()
    assert forward == backward
    assert forward["count"] == 50
    assert forward["sums"] == {"skips": sum(range(50))}
    changed = [dict(r) for r in rows]
    changed[3]["skips"] = 4
    assert Tally.for_bulk_stream("aggregated_streams_skips").add_all(changed).summary()[
        "checksum"
    ] != forward["checksum"]
