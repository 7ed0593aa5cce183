"""Errors the tap reports to the user as one line: what is wrong and what to do.

Every fatal condition the user can fix (configuration, credentials, access) or must know
about (an API that keeps failing, a file that stays corrupt) is raised as a `TapError`.
The CLI prints `str(error)` on one line and exits non-zero; messages never hold secrets.
"""

from __future__ import annotations


class TapError(Exception):
    """A fatal, user-facing error. `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(TapError):
    """A setting is missing or malformed; raised before any request is sent."""

    exit_code = 2


class AuthError(TapError):
    """The token endpoint refused our credentials, or the API refused our token."""


class AccessError(TapError):
    """The API answered 403: the credentials work but lack access (licensor, ad account)."""


class ApiError(TapError):
    """The API kept failing (5xx, 429, connection errors) after every retry, or answered
    something the contract does not allow."""


class DataError(TapError):
    """A downloaded file stayed corrupt (bad gzip, bad JSON) after every retry."""


class OutputClosedError(TapError):
    """The process reading the tap's output (the target) closed it."""

    def __init__(self) -> None:
        super().__init__(
            "the output was closed: the target stopped reading or failed (look at the "
            "target's log). Nothing after the last STATE message was committed; a re-run "
            "resumes there."
        )
