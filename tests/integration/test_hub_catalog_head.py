"""A station polling the catalog it already holds costs the hub no database read for a few
seconds at a time (5 000 stations poll), yet never gets a stale answer that matters: a catalog
published through this process is served at once, and a station that already holds a newer
catalog than the one this process last read is never handed the older one."""

from __future__ import annotations

import pytest
import requests

from sync.hub.crypto import MasterKeys
from sync.hub.server import HubThread
from sync.hub.store import HubStore
from tests.sync_doubles import small_catalog

pytestmark = pytest.mark.integration


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    keys = "k1:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    monkeypatch.setenv("INTAKE_HUB_MASTER_KEYS", keys)
    h = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    h.keys = keys
    yield h
    h.stop()


def station_session(hub) -> requests.Session:
    import uuid

    r = requests.post(
        f"{hub.url}/v1/enrollments",
        json={"code": hub.store.issue_enroll_code("XX01"), "store_id": str(uuid.uuid4())},
    )
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + r.json()["token"]
    return s


def test_polls_for_the_held_catalog_are_answered_without_reading_the_database(
    hub, tmp_path, monkeypatch
):
    s = station_session(hub)
    hub.store.publish_catalog(small_catalog(tmp_path / "cat", "2099.01.01-1"))
    first = s.get(f"{hub.url}/v1/catalog")
    assert first.status_code == 200 and first.content
    etag = first.headers["ETag"]
    reads = []
    head = hub.store.catalog_head
    monkeypatch.setattr(hub.store, "catalog_head", lambda: reads.append(1) or head())
    monkeypatch.setattr(hub.store, "current_catalog", lambda: pytest.fail("body read for a 304"))
    for _ in range(20):
        r = s.get(f"{hub.url}/v1/catalog", headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    assert len(reads) <= 1  # at most once more in the few seconds the head is kept


def test_a_catalog_published_through_this_process_is_served_at_once(hub, tmp_path):
    s = station_session(hub)
    hub.store.publish_catalog(small_catalog(tmp_path / "old", "2099.01.01-1"))
    old = s.get(f"{hub.url}/v1/catalog").headers["ETag"]
    assert s.get(f"{hub.url}/v1/catalog", headers={"If-None-Match": old}).status_code == 304
    hub.store.publish_catalog(small_catalog(tmp_path / "new", "2099.02.01-1"))
    r = s.get(f"{hub.url}/v1/catalog", headers={"If-None-Match": old})
    assert r.status_code == 200 and r.headers["X-Catalog-Version"] == "2099.02.01-1"
    assert r.headers["ETag"] != old


def test_a_station_holding_a_newer_catalog_than_this_process_read_is_never_sent_the_older(
    hub, tmp_path
):
    s = station_session(hub)
    hub.store.publish_catalog(small_catalog(tmp_path / "old", "2099.01.01-1"))
    old = s.get(f"{hub.url}/v1/catalog").headers["ETag"]
    assert s.get(f"{hub.url}/v1/catalog", headers={"If-None-Match": old}).status_code == 304
    # another hub process (its own store) publishes; the station got the new one there
    other = HubStore(hub.store.url, masters=MasterKeys.parse(hub.keys))
    try:
        new = other.publish_catalog(small_catalog(tmp_path / "new", "2099.02.01-1"))
    finally:
        other.close()
    r = s.get(f"{hub.url}/v1/catalog", headers={"If-None-Match": f'"{new["digest"]}"'})
    assert r.status_code == 304 and r.headers["ETag"] == f'"{new["digest"]}"'
    r = s.get(f"{hub.url}/v1/catalog")  # a station without a catalog: the one in force
    assert r.status_code == 200 and r.headers["X-Catalog-Version"] == "2099.02.01-1"
