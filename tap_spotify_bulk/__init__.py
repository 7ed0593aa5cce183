"""tap-spotify-bulk: Singer tap for Spotify's Bulk analytics API and the Spotify Ads API v3."""

__all__ = ["__version__"]

__version__ = "0.1.0"
