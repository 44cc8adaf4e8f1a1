"""The hub's lean S3 PUT signs requests exactly as botocore's S3 Signature Version 4 signer does
(an independent implementation: the one boto3 uses against AWS, MinIO, Ceph and OSS)."""

from __future__ import annotations

import datetime as dt
import hashlib

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sync.hub.s3_put import S3Put, SigV4Signer

AK, SK, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "cn-north-1"
NOW = dt.datetime(2026, 12, 7, 3, 4, 5, tzinfo=dt.UTC)


def botocore_authorization(url: str, headers: dict[str, str], body: bytes) -> str:
    req = AWSRequest(method="PUT", url=url, data=body, headers=headers)
    req.context["timestamp"] = "20261207T030405Z"
    auth = S3SigV4Auth(Credentials(AK, SK), "s3", REGION)
    req.headers["X-Amz-Date"] = "20261207T030405Z"
    req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    canonical = auth.canonical_request(req)
    signature = auth.signature(auth.string_to_sign(req, canonical), req)
    signed = auth.signed_headers(auth.headers_to_sign(req))
    return (
        f"AWS4-HMAC-SHA256 Credential={AK}/20261207/{REGION}/s3/aws4_request, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


def test_a_page_put_is_signed_as_botocore_signs_it():
    body = b"\x00sealed page bytes" * 1000
    put = S3Put("http://127.0.0.1:9000", "intake-pages", AK, SK, REGION, 5.0)
    path = put.path("pages/ab/" + "ab" * 32)
    assert path == "/intake-pages/pages/ab/" + "ab" * 32
    headers = {"host": "127.0.0.1:9000", "x-amz-meta-plain-size": "17972"}
    ours = SigV4Signer(AK, SK, REGION).sign(
        "PUT", path, headers, hashlib.sha256(body).hexdigest(), NOW
    )
    theirs = botocore_authorization(
        "http://127.0.0.1:9000" + path,
        {"Host": "127.0.0.1:9000", "x-amz-meta-plain-size": "17972"},
        body,
    )
    assert ours["authorization"] == theirs
    assert ours["x-amz-date"] == "20261207T030405Z"


def test_keys_needing_escapes_and_a_base_path_are_signed_as_botocore_signs_them():
    body = b""
    put = S3Put("https://oss.example.gov.cn/store/", "county pages", AK, SK, REGION, 5.0)
    assert put.host_header == "oss.example.gov.cn" and put.port == 443
    path = put.path("pages/页面 1+2")
    assert path == "/store/county%20pages/pages/%E9%A1%B5%E9%9D%A2%201%2B2"
    ours = SigV4Signer(AK, SK, REGION).sign(
        "PUT", path, {"host": "oss.example.gov.cn"}, hashlib.sha256(body).hexdigest(), NOW
    )
    theirs = botocore_authorization(
        "https://oss.example.gov.cn" + path, {"Host": "oss.example.gov.cn"}, body
    )
    assert ours["authorization"] == theirs


def test_a_different_secret_or_day_gives_another_signature():
    path, sha = "/b/k", hashlib.sha256(b"x").hexdigest()
    a = SigV4Signer(AK, SK, REGION).sign("PUT", path, {"host": "h"}, sha, NOW)
    b = SigV4Signer(AK, SK + "x", REGION).sign("PUT", path, {"host": "h"}, sha, NOW)
    signer = SigV4Signer(AK, SK, REGION)
    c = signer.sign("PUT", path, {"host": "h"}, sha, NOW + dt.timedelta(days=1))
    d = signer.sign("PUT", path, {"host": "h"}, sha, NOW)  # its cached day key is replaced
    assert len({a["authorization"], b["authorization"], c["authorization"]}) == 3
    assert d["authorization"] == a["authorization"]
