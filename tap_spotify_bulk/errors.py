"""Errors the tap reports to the user as one line: what is wrong and what to do.

Every fatal condition the user can fix (configuration, credentials, access) or must know
about (an API that keeps failing, a file that stays corrupt) is raised as a `TapError`.
The CLI prints `str(error)` on one line and exits non-zero; messages never hold secrets.
A name the tap does not know (a setting, a stream, an Ads field) is answered with the
closest one it does (`closest`, `did_you_mean`).
"""

from __future__ import annotations

import difflib
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to a misspelt `name` (case-insensitive), None when none is
    close enough to be a typo."""
    by_folded = {option.casefold(): option for option in known}
    found = difflib.get_close_matches(name.casefold(), sorted(by_folded), n=1, cutoff=0.6)
    return by_folded[found[0]] if found else None


def suggestion(name: str, known: Iterable[str], otherwise: str = "") -> str:
    """"did you mean `X`?" for the closest known name, else `otherwise`."""
    match = closest(name, known)
    return f"did you mean `{match}`?" if match else otherwise


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """" (did you mean `X`?)" for the closest known name, or "" when there is none."""
    text = suggestion(name, known)
    return f" ({text})" if text else ""


class TapError(Exception):
    """A fatal, user-facing error. `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(TapError):
    """A setting is missing or malformed; raised before any request is sent."""

    exit_code = 2


class MissingSettingError(ConfigError):
    """A required setting is not set. `settings` names it (or the settings any one of
    which would do), so the caller that knows the configuration can point at a misspelt
    key (`client_secrett` for `client_secret`)."""

    def __init__(self, message: str, *settings: str) -> None:
        super().__init__(message)
        self.settings = settings


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
