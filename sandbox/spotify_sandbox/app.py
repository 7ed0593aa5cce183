"""Request dispatch of the sandbox: one request in, one outcome out (no socket code here).

Order for every API call: latency, authentication, generic faults, then the endpoint.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from spotify_sandbox import faults as fault_kinds
from spotify_sandbox.bulk_api import BulkApi, FileRef, api_error
from spotify_sandbox.bulk_data import BulkData
from spotify_sandbox.faults import FaultInjector
from spotify_sandbox.routing import SandboxRequest, SandboxResponse
from spotify_sandbox.signing import UrlSigner
from spotify_sandbox.stats import Stats
from spotify_sandbox.token import ADS, BULK, TokenService, api_unauthorized
from spotify_sandbox.truth import BulkTruth

if TYPE_CHECKING:
    from collections.abc import Iterator

    from spotify_sandbox.options import SandboxOptions

TOKEN_PATH = "/api/token"  # noqa: S105 (a path)
AUTHORIZE_PATH = "/authorize"
BULK_PREFIX = "/v1/analytics"
ADS_PREFIX = "/ads/v3"
ADS_FILES_PREFIX = "/ads-files"  # async report CSVs (signed, like Spotify's report_url)
SIGNED_PREFIX = "/signed/"


@dataclass
class FileBody:
    """A streamed data file (chunked transfer encoding)."""

    chunks: Iterator[bytes]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"


@dataclass
class Reset:
    """Close the connection without an answer."""


Outcome = SandboxResponse | FileBody | Reset


@dataclass
class Incoming:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]  # lower-case names
    body: bytes


def _json(status: int, payload: object, **headers: str) -> SandboxResponse:
    return SandboxResponse(status, orjson.dumps(payload), dict(headers))


def _gcs_error(status: int, code: str, message: str) -> SandboxResponse:
    body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>").encode()
    return SandboxResponse(status, body, content_type="application/xml; charset=UTF-8")


class SandboxApp:
    """Everything the server knows: options, data, tokens, faults, stats and the Ads part."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.data = BulkData(options)
        self.bulk = BulkApi(self.data)
        self.bulk_truth = BulkTruth(self.data)
        self.tokens = TokenService(options)
        self.injector = FaultInjector(options.seed)
        self.signer = UrlSigner()
        self.stats = Stats()
        self.base_url = ""  # set by the server once it is bound
        self.ads_api = _load_ads_api(options)

    def handle(self, incoming: Incoming) -> tuple[Outcome, str, str | None]:
        """(outcome, endpoint kind, injected fault or None) for one request."""
        if self.options.latency_ms > 0:
            time.sleep(self.options.latency_ms / 1000)
        url = urlsplit(incoming.target)
        path, query = unquote(url.path), parse_qs(url.query, keep_blank_values=True)
        if path in (TOKEN_PATH, AUTHORIZE_PATH):
            return self._accounts(incoming, path, query)
        if path == BULK_PREFIX or path.startswith(BULK_PREFIX + "/"):
            return self._bulk(incoming, path[len(BULK_PREFIX):])
        if path.startswith(SIGNED_PREFIX):
            return self._signed(incoming, path[len(SIGNED_PREFIX):], query)
        if path.startswith((ADS_PREFIX + "/", ADS_FILES_PREFIX + "/")):
            return self._ads(incoming, path, query)
        if path.startswith("/_sandbox/"):
            return self._control(incoming.method, path, query), "control", None
        return _json(404, {"error": {"status": 404, "message": "Not found"}}), "other", None

    # -- generic faults ------------------------------------------------------------------
    def _fault(self, identity: str, kinds: tuple[str, ...]) -> tuple[Outcome | None, str | None]:
        """The faulty answer for this attempt of `identity`, if one is due."""
        kind, attempt = self.injector.pick(self.options.faults, identity, kinds)
        if kind is None:
            return None, None
        if kind == "reset":
            return Reset(), kind
        if kind == "429":
            headers = {"Retry-After": "1"} if self.injector.variant(identity, attempt, 2) else {}
            return _json(429, {"error": {"status": 429, "message": "API rate limit exceeded"}},
                         **headers), kind
        if kind in ("5xx", "token_503"):
            status = 503 if kind == "token_503" else (500, 502, 503)[
                self.injector.variant(identity, attempt, 3)]
            error = {"error": {"status": status, "message": "Service unavailable"}}
            return _json(status, error), kind
        if kind == "401":
            return api_unauthorized(), kind
        return None, kind  # body-level faults (truncated gzip, expired signed URL) are the caller's

    # -- endpoints -----------------------------------------------------------------------
    def _accounts(self, incoming: Incoming, path: str,
                  query: dict[str, list[str]]) -> tuple[Outcome, str, str | None]:
        """The accounts service: the token endpoint and the authorize page."""
        if path == AUTHORIZE_PATH:
            return self.tokens.authorize(query, self.options), "authorize", None
        return self._token(incoming)

    def _token(self, incoming: Incoming) -> tuple[Outcome, str, str | None]:
        if incoming.method != "POST":
            return _json(405, {"error": "method_not_allowed"}), "token", None
        grant = parse_qs(incoming.body.decode("utf-8", "replace")).get("grant_type", [""])[0]
        faulty, fault = self._fault(f"POST {TOKEN_PATH} {grant}", fault_kinds.TOKEN_FAULTS)
        if faulty is not None:
            return faulty, "token", fault
        response = self.tokens.handle(incoming.headers, incoming.body, self.options)
        if response.status == 200:
            self.stats.token_issued(grant)
        return response, "token", None

    def _bulk(self, incoming: Incoming, path: str) -> tuple[Outcome, str, str | None]:
        kind = "bulk"
        _token, denied = self.tokens.check(incoming.headers.get("authorization"), BULK)
        if denied is not None:
            return denied, kind, None
        if incoming.method != "GET":
            return api_error(405, "Method not allowed"), kind, None
        routed = self.bulk.route(path, self.options)
        kind = "bulk_file" if isinstance(routed, FileRef) else "bulk_listing"
        direct = isinstance(routed, FileRef) and self.options.direct_files
        kinds = fault_kinds.DIRECT_FILE_FAULTS if direct else fault_kinds.API_FAULTS
        faulty, fault = self._fault(f"GET {BULK_PREFIX}{path.rstrip('/')}", kinds)
        if faulty is not None:
            return faulty, kind, fault
        if not isinstance(routed, FileRef):
            return routed, kind, None
        if direct:
            truncate = fault == "truncated_gzip"
            return self._file_body(routed, truncate), kind, fault
        location = self._signed_base() + self.signer.sign(
            routed.object_name, self.options.signed_url_ttl, time.time())
        return SandboxResponse(303, b"", {"Location": location}), kind, None

    def _signed_base(self) -> str:
        host = self.options.signed_url_host
        if not host:
            return self.base_url
        return f"http://{host}:{urlsplit(self.base_url).port}"

    def _signed(self, incoming: Incoming, opaque: str,
                query: dict[str, list[str]]) -> tuple[Outcome, str, str | None]:
        if "authorization" in incoming.headers:
            return _gcs_error(400, "InvalidArgument", "Authorization header and signed URL "
                              "parameters may not be used together"), "signed", None
        object_name, problem = self.signer.verify(
            opaque, query.get("expires", [""])[0], query.get("sig", [""])[0], time.time())
        if object_name is None:
            return _signed_refusal(problem), "signed", None
        file_path = object_name.partition("#")[0]
        faulty, fault = self._fault(f"GET signed:{file_path}", fault_kinds.SIGNED_FAULTS)
        if faulty is not None or fault == "signed_url_expired":
            return faulty or _signed_refusal("expired"), "signed", fault
        routed = self.bulk.route(file_path, self.options)
        if not isinstance(routed, FileRef) or routed.object_name != object_name:
            return _gcs_error(404, "NoSuchKey", "The specified key does not exist."), "signed", None
        return self._file_body(routed, fault == "truncated_gzip"), "signed", fault

    def _file_body(self, ref: FileRef, truncate: bool) -> FileBody:
        chunks = self.data.gzip_chunks(ref.report, ref.day, ref.country, truncate=truncate)
        return FileBody(chunks)

    def _ads(self, incoming: Incoming, path: str,
             query: dict[str, list[str]]) -> tuple[Outcome, str, str | None]:
        if path.startswith(ADS_FILES_PREFIX + "/") and self.ads_api is not None:
            token = path[len(ADS_FILES_PREFIX) + 1:]  # a signed URL: no token needed
            return self.ads_api.async_reports.download(token), "ads_files", None
        path = path[len(ADS_PREFIX):]
        kind = "ads"
        token, denied = self.tokens.check(incoming.headers.get("authorization"), ADS)
        if denied is not None:
            return _ads_error(denied), kind, None
        identity = f"{incoming.method} {ADS_PREFIX}{path}?{sorted(query.items())}"
        faulty, fault = self._fault(identity, fault_kinds.API_FAULTS)
        if faulty is not None:
            return _ads_error(faulty), kind, fault
        if self.ads_api is None:
            missing = api_error(501, "The Ads API part of the sandbox is not installed")
            return _ads_error(missing), kind, None
        self.ads_api.files_base = self.base_url + ADS_FILES_PREFIX
        request = SandboxRequest(incoming.method, path, query, dict(incoming.headers),
                                 incoming.body, token or "")
        return self.ads_api.handle(request), kind, None

    def _control(self, method: str, path: str, query: dict[str, list[str]]) -> SandboxResponse:
        commands = {"/_sandbox/restate": self._restate,
                    "/_sandbox/ads/late_conversions": self._late_conversions}
        if method == "POST" and path in commands:
            return commands[path](query)
        if method != "GET":
            return _json(405, {"error": {"status": 405, "message": "Method not allowed"}})
        if path == "/_sandbox/stats":
            return _json(200, self.stats.snapshot())
        if path == "/_sandbox/truth":
            try:
                return _json(200, self._truth(query))
            except (ValueError, TypeError, KeyError) as exc:
                return _json(400, {"error": {"status": 400, "message": str(exc)}})
        return _json(404, {"error": {"status": 404, "message": "Not found"}})

    def _restate(self, query: dict[str, list[str]]) -> SandboxResponse:
        """`POST /_sandbox/restate?date=YYYY-MM-DD`: the day's files become a corrected
        generation (every report of that day)."""
        try:
            day = dt.date.fromisoformat(query.get("date", [""])[0])
            generation = self.data.restate(day)
        except ValueError as exc:
            return _json(400, {"error": {"status": 400, "message": str(exc)}})
        return _json(200, {"date": day.isoformat(), "generation": generation})

    def _late_conversions(self, query: dict[str, list[str]]) -> SandboxResponse:
        """`POST /_sandbox/ads/late_conversions?date=YYYY-MM-DD`: more conversions and revenue
        credited to that past day of every ad with a pixel (the Ads truth follows)."""
        if self.ads_api is None:
            return _json(501, {"error": {"status": 501, "message": "the Ads part of the "
                                         "sandbox is not installed"}})
        try:
            day = dt.date.fromisoformat(query.get("date", [""])[0])
            credited = self.ads_api.credit_late_conversions(day)
        except ValueError as exc:
            return _json(400, {"error": {"status": 400, "message": str(exc)}})
        return _json(200, credited)

    def _truth(self, query: dict[str, list[str]]) -> dict:
        """Bulk truth for start..end (default: the whole range); with `ads_report_list`
        (a JSON list like the tap setting) also the Ads tables, on the Ads part's defaults."""
        def one(name: str) -> str | None:
            return query.get(name, [None])[0]

        def many(name: str) -> list[str] | None:
            values = [v for item in query.get(name, []) for v in item.split(",") if v]
            return values or None

        truth = self.bulk_truth(self.options, one("start") or self.options.start,
                                one("end") or self.options.end, streams=many("streams"),
                                countries=many("countries"))
        reports = one("ads_report_list")
        if reports:
            if self.ads_api is None:
                raise ValueError("the Ads part of the sandbox is not installed")
            truth.update(self.ads_api.truth(orjson.loads(reports)))
        return truth


ADS_ERROR_CODES = {401: "UNAUTHENTICATED", 429: "RATE_LIMIT_EXCEEDED", 501: "NOT_IMPLEMENTED"}


def _ads_error(outcome: Outcome) -> Outcome:
    """A Bulk-style error answer in the Ads API's error shape (api-contract §6), same status and
    headers; a reset stays a reset."""
    if not isinstance(outcome, SandboxResponse):
        return outcome
    message = orjson.loads(outcome.body)["error"]["message"]
    code = ADS_ERROR_CODES.get(outcome.status, "INTERNAL_ERROR")
    body = {"sp_trace_id": uuid.uuid4().hex, "messages": [message],
            "error_codes": [{"code": code, "definition": message}]}
    return SandboxResponse(outcome.status, orjson.dumps(body), outcome.headers)


def _signed_refusal(problem: str) -> SandboxResponse:
    if problem == "expired":
        return _gcs_error(403, "ExpiredToken", "Invalid argument: the signed URL has expired")
    return _gcs_error(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                      "not match the signature you provided")


def _load_ads_api(options: SandboxOptions) -> object | None:
    """The Ads part (`sandbox/ads_api.py`, another helper's), if it is installed."""
    try:
        module = importlib.import_module("spotify_sandbox.ads_api")
    except ModuleNotFoundError as exc:
        if exc.name != "spotify_sandbox.ads_api":
            raise
        return None
    return module.AdsApi(seed=options.seed, **options.ads)
