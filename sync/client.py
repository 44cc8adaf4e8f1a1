"""The station's HTTP client for the hub (requests): TLS verification on, a configurable CA
bundle and proxy, a short connect timeout so an absent link is noticed fast, and every failure
turned into a SyncError with a Chinese reason and fix."""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import requests
import urllib3

from sync.errors import SyncError, sync_error
from sync.protocol import (
    API_VERSION,
    BLOB_BATCH,
    INTAKE_BUNDLE,
    JSON,
    REPORT_HEADERS,
    frame_header,
    intake_bundle,
    is_int,
)

log = logging.getLogger("intake.sync.http")

USER_AGENT = f"yijianshi-intake-sync/{API_VERSION}"


@dataclass(frozen=True)
class TransportConfig:
    base_url: str
    ca_bundle: str | None = None  # PEM file of the 政务外网 CA; None: the system's trust store
    proxy: str | None = None  # e.g. http://10.1.1.1:3128; None: direct
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    gzip_min: int = 8 * 1024  # JSON bodies larger than this go gzip-compressed


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _hub_message(resp: requests.Response) -> tuple[str, str, bool]:
    try:
        err = resp.json().get("error", {})
        return (
            str(err.get("code", "")),
            str(err.get("message", ""))[:200],
            bool(err.get("retry", False)),
        )
    except (ValueError, AttributeError):
        return "", "", False


class HubClient:
    def __init__(
        self,
        config: TransportConfig,
        token: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self.token = token
        self.session = session or requests.Session()
        self.session.trust_env = False  # only the configured proxy, never one from the environment
        self.session.headers["User-Agent"] = USER_AGENT
        if config.proxy:
            self.session.proxies = {"http": config.proxy, "https": config.proxy}

    def close(self) -> None:
        self.session.close()

    def report(self, client_version: str, catalog_version: str, backlog: int) -> None:
        """Optional protocol headers the hub lists per station (`intake hub stations`)."""
        self.session.headers.update(
            {
                REPORT_HEADERS[0]: client_version[:32],
                REPORT_HEADERS[1]: catalog_version[:32],
                REPORT_HEADERS[2]: str(max(0, backlog)),
            }
        )

    # ------------------------------------------------------------------ plumbing

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        ok: Iterable[int] = (200, 201),
        auth: bool = True,
        read_timeout: float | None = None,
    ) -> requests.Response:
        h = dict(headers or {})
        if auth:
            if not self.token:
                raise sync_error("sync.not_enrolled", retry=False)
            h["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            h["Content-Type"] = JSON
            if len(raw) >= self.config.gzip_min:
                raw = gzip.compress(raw, compresslevel=5)
                h["Content-Encoding"] = "gzip"
            data = raw
        read = read_timeout or self.config.read_timeout
        try:
            resp = self.session.request(
                method,
                self._url(path),
                data=data,
                headers=h,
                params=params,
                timeout=(self.config.connect_timeout, read),
                verify=self.config.ca_bundle or True,
                allow_redirects=False,
                stream=True,
            )
            # Read the whole answer here, within a total deadline: a hub that trickles a byte at
            # a time never trips the per-read timeout, this does.
            deadline = time.monotonic() + read * 4
            body = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                body += chunk
                if time.monotonic() > deadline:
                    resp.close()
                    raise sync_error("sync.timeout")
            resp._content = bytes(body)
            resp._content_consumed = True
        except requests.exceptions.SSLError as exc:
            raise sync_error("sync.tls", retry=True) from exc
        except requests.exceptions.ProxyError as exc:
            raise sync_error("sync.proxy") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise sync_error("sync.offline") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise sync_error("sync.timeout") from exc
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise sync_error("sync.interrupted") from exc
        except requests.exceptions.ConnectionError as exc:
            raise sync_error("sync.interrupted" if _established(exc) else "sync.offline") from exc
        except requests.exceptions.RequestException as exc:
            raise sync_error("sync.offline", cause=exc.__class__.__name__) from exc
        if resp.status_code in tuple(ok):
            return resp
        raise self._status_error(resp)

    def _status_error(self, resp: requests.Response) -> SyncError:
        code, message, retry = _hub_message(resp)
        after = retry_after(resp.headers.get("Retry-After"))
        status = resp.status_code
        if status == 401 or code == "store.mismatch":
            return sync_error("sync.unauthorized", retry=False, status=status, hub_code=code)
        if status == 429:
            return sync_error("sync.rate_limited", retry_after=after, status=status)
        if status in (502, 503, 504):  # the hub's own reason, when it gave one, says why
            if code:  # e.g. its object store is down: the station's queue shows that reason
                return sync_error(
                    "sync.server_error",
                    variant=2,
                    retry_after=after,
                    status=status,
                    hub_code=code,
                    hub=message,
                )
            return sync_error("sync.server_error", retry_after=after, status=status)
        if status >= 500:
            return sync_error("sync.server_error", retry_after=after, status=status, hub_code=code)
        if status == 413:
            return sync_error("sync.too_large", status=status)
        if not code:  # not our hub's error envelope: a gateway, a captive portal, a wrong URL
            return sync_error("sync.bad_response", variant=2, status=status, http_status=status)
        if status == 403:
            return sync_error(
                "sync.forbidden",
                scope="item",
                retry=False,
                status=status,
                hub_code=code,
                hub_message=message,
            )
        if status == 409:
            return sync_error(
                "sync.conflict",
                scope="item",
                retry=retry,
                retry_after=after,
                status=status,
                hub_code=code,
                hub_message=message,
            )
        return sync_error(
            "sync.refused",
            scope="item",
            retry=retry,
            status=status,
            hub_code=code,
            hub_message=message,
        )

    @staticmethod
    def json(resp: requests.Response) -> Any:
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != JSON:
            raise sync_error("sync.bad_response", variant=3, content_type=ctype or "-")
        try:
            return json.loads(resp.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise sync_error("sync.bad_response", variant=13) from exc

    def _obj(self, resp: requests.Response, *keys: str) -> dict[str, Any]:
        data = self.json(resp)
        if not isinstance(data, dict) or any(k not in data for k in keys):
            raise sync_error("sync.bad_response", variant=4)
        return data

    # ------------------------------------------------------------------ API

    def enroll(
        self,
        code: str,
        store_id: str,
        station_code: str | None,
        receipt_key: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code, "store_id": store_id, "station_code": station_code}
        if receipt_key is not None:
            body["receipt_key"] = dict(receipt_key)
        resp = self.request("POST", "/v1/enrollments", auth=False, body=body)
        data = self._obj(resp, "token", "token_id", "station_code")
        if not all(isinstance(data[k], str) for k in ("token", "token_id", "station_code")):
            raise sync_error("sync.bad_response", variant=5)
        return data

    def ping(self) -> dict[str, Any]:
        return self._obj(self.request("GET", "/v1/ping"), "api_version")

    def received(self, start: int, end: int) -> list[list[int]]:
        data = self._obj(
            self.request("GET", "/v1/events/received", params={"start": start, "end": end}),
            "ranges",
        )
        runs = data["ranges"]
        if not isinstance(runs, list) or not all(
            isinstance(r, list)
            and len(r) == 2
            and all(isinstance(x, int) for x in r)
            and r[0] <= r[1]
            for r in runs
        ):
            raise sync_error("sync.bad_response", variant=6)
        return sorted(runs)

    def manifests(self, manifests: list[dict[str, Any]]) -> dict[str, Any]:
        data = self._obj(
            self.request("POST", "/v1/manifests", body={"manifests": manifests}), "needed"
        )
        if not isinstance(data["needed"], list):
            raise sync_error("sync.bad_response", variant=7)
        return data

    def put_blob(self, sha: str, total: int, offset: int, data: bytes) -> dict[str, Any]:
        resp = self.request(
            "PUT",
            f"/v1/blobs/{sha}",
            data=data,
            ok=(200, 201),
            headers={
                "Content-Type": "application/octet-stream",
                "Upload-Offset": str(offset),
                "Upload-Length": str(total),
            },
            read_timeout=max(self.config.read_timeout, len(data) / 200_000),
        )
        return self._obj(resp, "offset", "complete")

    def post_blobs(self, parts: list[tuple[str, int, int, bytes]]) -> list[dict[str, Any]]:
        """Parts of (sha, offset, total, bytes from offset) in one body."""
        body = bytearray()
        for sha, offset, total, data in parts:
            body += frame_header(sha, offset, len(data), total)
            body += data
        resp = self.request(
            "POST",
            "/v1/blobs",
            data=bytes(body),
            headers={"Content-Type": BLOB_BATCH},
            read_timeout=max(self.config.read_timeout, len(body) / 200_000),
        )
        answer = self._obj(resp, "blobs")
        if not isinstance(answer["blobs"], list):
            raise sync_error("sync.bad_response", variant=8)
        return answer["blobs"]

    def post_events(self, store_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        data = self._obj(
            self.request("POST", "/v1/events", body={"store_id": store_id, "events": events}),
            "results",
        )
        _check_results(data, events)
        return data

    def post_intake(
        self,
        store_id: str,
        manifests: list[dict[str, Any]],
        pages: list[tuple[str, bytes]],
        events: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        """A batch's manifests, the bytes of its PAGES (sha, bytes) and its events in one request
        (POST /v1/intakes). None: the hub is older and lacks the route (it answers 404)."""
        head = {"store_id": store_id, "manifests": manifests, "events": events}
        body = intake_bundle(head, pages)
        resp = self.request(
            "POST",
            "/v1/intakes",
            data=body,
            headers={"Content-Type": INTAKE_BUNDLE},
            ok=(200, 404),
            read_timeout=max(self.config.read_timeout, len(body) / 200_000),
        )
        if resp.status_code == 404:
            code, _message, _retry = _hub_message(resp)
            if code:  # the hub's own refusal, not a route it lacks
                raise self._status_error(resp)
            return None
        data = self._obj(resp, "blobs", "needed", "results")
        if not isinstance(data["blobs"], list) or not isinstance(data["needed"], list):
            raise sync_error("sync.bad_response", variant=8)
        _check_results(data, events)
        return data

    def post_audit(self, store_id: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Audit entries in id order. The answer has `last_id` (the end of the hub's copy) and,
        when the hub refused an entry, `refused` ({code, message, entry_id}): the entries before
        it are kept at the hub."""
        resp = self.request(
            "POST", "/v1/audit", body={"store_id": store_id, "entries": entries}, ok=(200, 409, 422)
        )
        if resp.status_code != 200:
            code, message, _retry = _hub_message(resp)
            if not code.startswith("audit."):  # a 409/422 that is not our hub's refusal
                raise self._status_error(resp)
            err = self.json(resp)["error"]
            if not is_int(err.get("last_id")) or not is_int(err.get("entry_id")):
                raise sync_error("sync.bad_response", variant=10)
            return {
                "last_id": err["last_id"],
                "refused": {"code": code, "message": message, "entry_id": err["entry_id"]},
            }
        data = self._obj(resp, "last_id")
        if not is_int(data["last_id"]):
            raise sync_error("sync.bad_response", variant=10)
        return data

    def post_receipt_key(self, key_id: str, public_key: str) -> dict[str, Any]:
        resp = self.request(
            "POST", "/v1/receipt-keys", body={"key_id": key_id, "public_key": public_key}
        )
        return self._obj(resp, "status")

    def status_updates(self, after: int, limit: int = 200) -> dict[str, Any]:
        resp = self.request("GET", "/v1/status-updates", params={"after": after, "limit": limit})
        data = self._obj(resp, "updates")
        if not isinstance(data["updates"], list):
            raise sync_error("sync.bad_response", variant=11)
        return data

    def notices(self, after: int, limit: int = 200) -> dict[str, Any]:
        """The hub's notices to this station's applicants changed after AFTER (an older hub
        without notices answers 404: nothing to read)."""
        resp = self.request(
            "GET", "/v1/notices", params={"after": after, "limit": limit}, ok=(200, 404)
        )
        if resp.status_code == 404:
            return {"notices": [], "next_cursor": after, "more": False}
        data = self._obj(resp, "notices")
        if not isinstance(data["notices"], list):
            raise sync_error("sync.bad_response", variant=11)
        return data

    def online_queue(self) -> dict[str, Any]:
        """The county's online applications (sync/jobs/online.py reads the answer)."""
        return self._obj(self.request("GET", "/v1/online/queue"), "applications", "answered")

    def catalog(self, known: Iterable[str]) -> tuple[str, str, bytes] | None:
        tags = ", ".join(f'"{d}"' for d in known if d)
        resp = self.request(
            "GET",
            "/v1/catalog",
            ok=(200, 304, 404),
            headers={"If-None-Match": tags} if tags else None,
            read_timeout=max(self.config.read_timeout, 60),
        )
        if resp.status_code in (304, 404):
            return None
        digest = resp.headers.get("X-Catalog-Digest", "")
        version = unquote(resp.headers.get("X-Catalog-Version", ""))
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not digest or ctype != JSON:
            # A gateway's page (proxy login, maintenance) in the hub's place: a bad answer of the
            # link, retried; not a broken catalog to park for a person.
            raise sync_error("sync.bad_response", variant=12, content_type=ctype or "-")
        return digest, version, resp.content


def _check_results(data: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """One result per event sent, each naming that event (a skipped one may lack its id)."""
    results = data["results"]
    if (
        not isinstance(results, list)
        or len(results) != len(events)
        or not all(
            isinstance(r, dict) and r.get("status") in ("stored", "duplicate", "refused", "skipped")
            for r in results
        )
    ):
        raise sync_error("sync.bad_response", variant=9)
    for r, ev in zip(results, events, strict=True):
        if r["status"] != "skipped" and r.get("id") != ev["id"]:
            raise sync_error("sync.bad_response", variant=9)


def _established(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was made and then broke (reset, closed mid-answer)."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    if isinstance(
        reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError)
    ):
        return False
    return (
        isinstance(reason, (urllib3.exceptions.ProtocolError, ConnectionResetError))
        or "aborted" in str(exc).lower()
    )


__all__ = ["HubClient", "SyncError", "TransportConfig", "retry_after"]
