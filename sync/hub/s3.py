"""Pages in S3-compatible object storage (MinIO, Ceph RGW, 阿里云 OSS, 华为 OBS) through boto3.

Objects are named `<prefix><sha[:2]>/<sha>` and hold the sealed page; the page's own size rides
in the object's metadata. Partial uploads stay in the local spool (BlobStore's partial files,
sealed as they are written) until a page is whole, and are then sent as they are, the seal's tag
appended; a page is acknowledged only after put_object returned. An object store
that refuses or times out is BlobError("blob.store_unavailable"): the station is told to retry
later and the partial file is kept, so the retry only has to finish it.

Configuration (environment or the hub's settings file, never the command line):
INTAKE_HUB_S3_ENDPOINT, INTAKE_HUB_S3_BUCKET, INTAKE_HUB_S3_PREFIX, INTAKE_HUB_S3_REGION,
INTAKE_HUB_S3_ACCESS_KEY, INTAKE_HUB_S3_SECRET_KEY.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sync.hub.blobs import BlobStore, _unavailable
from sync.hub.crypto import Sealer
from sync.hub.s3_put import S3Put, S3PutError

log = logging.getLogger("intake.hub.s3")

SIZE_META = "plain-size"


@dataclass(frozen=True)
class S3Config:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    prefix: str = "pages/"
    timeout: float = 10.0  # seconds per connect / read before the store counts as unavailable

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Config | None:
        env = os.environ if env is None else env
        if not env.get("INTAKE_HUB_S3_BUCKET"):
            return None
        return cls(
            endpoint=env.get("INTAKE_HUB_S3_ENDPOINT", ""),
            bucket=env["INTAKE_HUB_S3_BUCKET"],
            access_key=env.get("INTAKE_HUB_S3_ACCESS_KEY", ""),
            secret_key=env.get("INTAKE_HUB_S3_SECRET_KEY", ""),
            region=env.get("INTAKE_HUB_S3_REGION", "us-east-1"),
            prefix=env.get("INTAKE_HUB_S3_PREFIX", "pages/"),
        )


class S3BlobStore(BlobStore):
    backend = "s3"

    def __init__(self, spool: Path | str, config: S3Config, *, sealer: Sealer | None) -> None:
        super().__init__(spool, sealer=sealer)
        import boto3
        from botocore.config import Config

        self.config = config
        self.client = boto3.client(
            "s3",
            endpoint_url=config.endpoint or None,
            aws_access_key_id=config.access_key or None,
            aws_secret_access_key=config.secret_key or None,
            region_name=config.region,
            config=Config(
                connect_timeout=config.timeout,
                read_timeout=config.timeout,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        # the hot path's PUT (one per page) without botocore's per-call cost: sync/hub/s3_put.py
        self.putter = S3Put(
            config.endpoint,
            config.bucket,
            config.access_key,
            config.secret_key,
            config.region,
            config.timeout,
        )

    def key(self, sha: str) -> str:
        self.path(sha)  # checks the name
        return f"{self.config.prefix}{sha[:2]}/{sha}"

    def ensure_bucket(self) -> None:
        """Create the bucket when missing (a fresh deployment, tests). A store that cannot be
        reached or refuses these credentials stops the start with SettingsError
        hub.s3_unreachable (what the store answered; never the keys)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from sync.hub.settings import SettingsError

        try:
            try:
                self.client.head_bucket(Bucket=self.config.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                    raise
                self.client.create_bucket(Bucket=self.config.bucket)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError):
                err = exc.response.get("Error", {})
                reason = f"{err.get('Code', '?')} {err.get('Message', '')}".strip()
            else:
                reason = exc.__class__.__name__
            raise SettingsError(
                "hub.s3_unreachable",
                endpoint=self.config.endpoint or "AWS",
                bucket=self.config.bucket,
                reason=reason[:200],
            ) from exc

    def held(self, sha: str, size: int | None, holder: bool) -> bool:
        # A holder row is written only after put_object returned: no lookup per page (each one
        # costs the hub a request's CPU on the hot path).
        return holder

    def stored_size(self, sha: str) -> int | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=self.key(sha))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            log.warning("object store refused a lookup: %s", exc.__class__.__name__)
            raise _unavailable() from exc
        except BotoCoreError as exc:
            log.warning("object store unavailable: %s", exc.__class__.__name__)
            raise _unavailable() from exc
        meta = head.get("Metadata", {})
        return int(meta[SIZE_META]) if SIZE_META in meta else int(head["ContentLength"])

    def read(self, sha: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.client.get_object(Bucket=self.config.bucket, Key=self.key(sha))
            data = obj["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable() from exc
        return self._open(sha, data)

    def _store(self, items: list[tuple[str, Path, bytes]]) -> list[str]:
        """Send whole partial files (SHA, PATH, TAG completing the seal) as objects; each
        partial file is dropped once its object is confirmed, the others kept for the retry."""
        done: list[str] = []
        for sha, part, tag in items:
            try:
                data = part.read_bytes() + tag
            except FileNotFoundError:  # finished meanwhile by another upload of the same page
                continue
            self._put_one(sha, data, done)
            part.unlink(missing_ok=True)
            done.append(sha)
        return done

    def _put_one(self, sha: str, sealed: bytes, done: list[str] | None = None) -> None:
        size = len(sealed) - Sealer.overhead(sealed[:5])
        try:
            self.putter.put(self.key(sha), sealed, {SIZE_META: str(size)})
        except (S3PutError, OSError) as exc:
            log.warning("object store did not take page %s: %s", sha[:12], exc.__class__.__name__)
            raise _unavailable(list(done or [])) from exc

    def objects(self) -> Iterator[tuple[str, bytes]]:
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.config.bucket):
            for item in page.get("Contents", []):
                body = self.client.get_object(Bucket=self.config.bucket, Key=item["Key"])
                yield item["Key"], body["Body"].read()


def make_blob_store(
    spool: Path | str, sealer: Sealer | None, env: Mapping[str, str] | None = None
) -> BlobStore:
    """The page store the environment configures: S3 when a bucket is named, else SPOOL."""
    config = S3Config.from_env(env)
    if config is None:
        return BlobStore(spool, sealer=sealer)
    store = S3BlobStore(spool, config, sealer=sealer)
    store.ensure_bucket()
    return store


__all__ = ["S3BlobStore", "S3Config", "make_blob_store"]
