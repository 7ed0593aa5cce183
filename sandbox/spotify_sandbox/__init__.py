"""A local Spotify Bulk API + Ads API v3 + token endpoint server with faults and ground truth.

    with Sandbox(SandboxOptions(seed=7, scale=500)) as sb:
        config = sb.tap_config()
        truth = sb.bulk_truth(sb.options.start, sb.options.end)
"""

from spotify_sandbox.options import FaultOptions, SandboxOptions
from spotify_sandbox.server import Sandbox

__all__ = ["FaultOptions", "Sandbox", "SandboxOptions"]
