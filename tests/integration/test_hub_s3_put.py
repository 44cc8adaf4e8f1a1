"""The hub's lean S3 PUT against a real S3-compatible server on loopback (moto's server mode):
pages stored with their metadata and read back through boto3, the connection kept alive and
reopened after the store restarts, and a store that is down or refuses is a BlobError the
station is told to retry (nothing acknowledged); an HTTPS store with a private CA is trusted
through the bundle boto3 is given (AWS_CA_BUNDLE)."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading

import boto3
import pytest

from sync.hub.blobs import BlobError
from sync.hub.s3 import S3BlobStore, S3Config
from sync.hub.s3_put import S3Put, S3PutError
from tests.expected_logs import S3_PAGE_NOT_TAKEN
from tests.hub_doubles import S3Server, self_signed

pytestmark = S3_PAGE_NOT_TAKEN


@pytest.fixture
def s3():
    with S3Server() as server:
        yield server


def store_for(s3: S3Server, tmp_path, bucket: str = "intake-pages") -> S3BlobStore:
    config = S3Config.from_env(s3.env(bucket))
    assert config is not None
    return S3BlobStore(tmp_path / "spool", config, sealer=None)


def boto(s3: S3Server):
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=S3Server.ACCESS,
        aws_secret_access_key=S3Server.SECRET,
        region_name="us-east-1",
    )


def test_pages_put_by_the_lean_client_are_read_back_by_boto3_with_their_size(s3, tmp_path):
    store = store_for(s3, tmp_path)
    store.ensure_bucket()
    pages = [bytes([i]) * (100_000 + i) for i in range(3)]
    shas = [store.put(p) for p in pages]
    assert shas == [hashlib.sha256(p).hexdigest() for p in pages]
    conn = store.putter._local.conn
    for sha, page in zip(shas, pages, strict=True):
        obj = boto(s3).get_object(Bucket="intake-pages", Key=f"pages/{sha[:2]}/{sha}")
        assert obj["Body"].read() == page
        assert obj["Metadata"] == {"plain-size": str(len(page))}
        assert store.stored_size(sha) == len(page) and store.read(sha) == page
    assert conn is store.putter._local.conn or store.putter._local.conn is None


def test_a_restarted_store_is_reached_on_a_new_connection(s3, tmp_path):
    store = store_for(s3, tmp_path)
    store.ensure_bucket()
    store.put(b"first page")
    s3.stop()
    s3.start()  # same port; its idle connection from before is dead
    boto(s3).create_bucket(Bucket="intake-pages")
    sha = store.put(b"second page")
    assert store.read(sha) == b"second page"


def test_a_store_that_is_down_or_refuses_is_unavailable_and_nothing_is_stored(s3, tmp_path):
    store = store_for(s3, tmp_path, bucket="no-such-bucket")
    sha = hashlib.sha256(b"a page").hexdigest()
    with pytest.raises(BlobError) as refused:
        store._put_one(sha, b"a page")  # the upload path's PUT (put() asks boto3 first)
    assert refused.value.code == "blob.store_unavailable" and refused.value.retry
    assert isinstance(refused.value.__cause__, S3PutError)
    assert refused.value.__cause__.status == 404
    s3.stop()
    with pytest.raises(BlobError) as down:
        store._put_one(sha, b"a page")
    assert down.value.code == "blob.store_unavailable"
    assert isinstance(down.value.__cause__, OSError)


# ----------------------------------------------------------------------------- TLS, private CA


@pytest.fixture
def tls_store(tmp_path):
    """An HTTPS endpoint with a private CA that records each PUT and answers 200."""
    crt, pem = self_signed(tmp_path, "county object store", "store")
    seen: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, pem)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", crt, seen
    server.shutdown()
    server.server_close()


def test_an_https_store_with_a_private_ca_is_trusted_through_aws_ca_bundle(tls_store, monkeypatch):
    url, crt, seen = tls_store
    body = b"\x01sealed" * 5000
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError):  # an OSError: the store is unavailable
        S3Put(url, "pages", "ak", "sk", "us-east-1", 5.0).put("pages/ab/x", body, {})
    assert seen == []
    monkeypatch.setenv("AWS_CA_BUNDLE", str(crt))  # what boto3 is told too
    put = S3Put(url, "pages", "ak", "sk", "us-east-1", 5.0)
    put.put("pages/ab/x", body, {"plain-size": "35000"})
    put.put("pages/ab/y", b"", {})  # the same connection, kept alive
    (path, headers, got), (path2, _h, got2) = seen
    assert (path, got, path2, got2) == ("/pages/pages/ab/x", body, "/pages/pages/ab/y", b"")
    assert headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert headers["x-amz-meta-plain-size"] == "35000"
    assert headers["host"] == url.removeprefix("https://")
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=ak/")
    assert (
        "SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date;"
        in (headers["authorization"])
    )
