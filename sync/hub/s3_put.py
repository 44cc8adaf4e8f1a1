"""A lean S3 PUT for the hub's hot path: one page stored per call, signed with AWS Signature
Version 4 over a kept-alive http.client connection per thread.

Why not boto3 here: botocore spent ~3.9 ms of CPU per put_object on the benchmark (its event
hooks, request model, parsing and signer), a large share of a submission's hub CPU; this PUT
costs a fraction of that (docs/hub-sizing.md). boto3 still does everything else (bucket checks,
reads, listings, backups), where its cost does not matter.

The payload is signed (x-amz-content-sha256 is the body's hash, as botocore does on plain HTTP),
so a body damaged on the way is refused by the store. A connection the store closed while idle
is reopened and the PUT sent again once: an object named by its content may be written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import os
import ssl
import threading
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


class S3PutError(Exception):
    """The store did not confirm the object: STATUS is its HTTP status (None: no answer)."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class SigV4Signer:
    """AWS Signature Version 4 for the S3 service (header-based, path-style requests)."""

    def __init__(self, access_key: str, secret_key: str, region: str) -> None:
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self._keys: dict[str, bytes] = {}  # signing key per day (derived with 4 HMACs)

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = _hmac(("AWS4" + self.secret_key).encode(), day)
            for part in (self.region, "s3", "aws4_request"):
                key = _hmac(key, part)
            self._keys = {day: key}
        return key

    def sign(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        payload_sha256: str,
        now: dt.datetime,
    ) -> dict[str, str]:
        """HEADERS (names in lower case, `host` among them) plus x-amz-date,
        x-amz-content-sha256 and Authorization for a request of METHOD on PATH (already
        URI-encoded, no query) at NOW."""
        amz_date = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        out = {**headers, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256}
        names = sorted(out)
        canonical = "\n".join(
            [
                method,
                path,
                "",  # no query string
                "".join(f"{n}:{' '.join(out[n].split())}\n" for n in names),
                ";".join(names),
                payload_sha256,
            ]
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        out["authorization"] = (
            f"{ALGORITHM} Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return out


class S3Put:
    """PUT objects into one bucket of an S3-compatible store (path-style addressing)."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str,
        timeout: float,
    ) -> None:
        url = urlsplit(endpoint or f"https://s3.{region}.amazonaws.com")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("S3 endpoint must be an http(s) URL")
        self.https = url.scheme == "https"
        self.host = url.hostname
        self.port = url.port or (443 if self.https else 80)
        default = 443 if self.https else 80
        self.host_header = url.netloc if url.port not in (None, default) else self.host
        self.base = url.path.rstrip("/")
        self.bucket = bucket
        self.timeout = timeout
        self.signer = SigV4Signer(access_key, secret_key, region)
        self._local = threading.local()  # one kept-alive connection per thread

    def path(self, key: str) -> str:
        return quote(f"{self.base}/{self.bucket}/{key}", safe="/-_.~")

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.https:
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=_tls_context()
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def put(self, key: str, body: bytes, meta: Mapping[str, str]) -> None:
        """Store BODY as KEY with user metadata META; returns once the store confirmed it
        (S3PutError otherwise, OSError when it could not be reached)."""
        path = self.path(key)
        headers = {"host": self.host_header, "content-length": str(len(body))}
        headers.update({f"x-amz-meta-{k.lower()}": v for k, v in meta.items()})
        signed = self.signer.sign(
            "PUT", path, headers, hashlib.sha256(body).hexdigest(), dt.datetime.now(dt.UTC)
        )
        signed.pop("host")  # http.client sends Host itself
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._connection()
            try:
                conn.request("PUT", path, body=body, headers=signed)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                    continue  # the store closed an idle connection: once more on a new one
                if isinstance(exc, OSError):
                    raise
                raise S3PutError(None, exc.__class__.__name__) from exc
            if resp.will_close:
                self._drop()
            if 200 <= resp.status < 300:
                return
            raise S3PutError(resp.status, _error_code(data) or resp.reason)
        raise AssertionError("unreachable")  # pragma: no cover


def _tls_context() -> ssl.SSLContext:
    """The system's CAs, or the bundle boto3 is given for a store with a private CA (a county's
    MinIO): AWS_CA_BUNDLE, the variable botocore reads, so both clients trust the same."""
    return ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or None)


def _error_code(body: bytes) -> str:
    """The <Code> of an S3 error document (no XML parser for one element)."""
    start = body.find(b"<Code>")
    end = body.find(b"</Code>", start)
    if start < 0 or end < 0:
        return ""
    return body[start + 6 : end].decode("ascii", "replace")[:64]
