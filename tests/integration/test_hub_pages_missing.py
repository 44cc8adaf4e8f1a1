""" "Pages missing" (/metrics, `intake hub stations`) reads only the manifest pages that were not
held when named (a flag with a partial index), and counts exactly what the full definition
does: every page a station's manifests name that the station never sent. On SQLite and
PostgreSQL, through each way pages arrive, and for a database migrated from before the flag."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, text

from sync.hub import ops
from sync.hub.blobs import BlobStore
from sync.hub.crypto import MasterKeys
from sync.hub.schema import _config
from sync.hub.store import HubStore
from tests.sync_doubles import pg_database

pytestmark = pytest.mark.integration

KEYS = MasterKeys.parse("km " + base64.b64encode(b"M" * 32).decode())

# the definition, as the hub computed it before the flag: a join over every manifest page
FULL = text(
    "SELECT st.code, count(*) FROM hub_manifest_pages m"
    " JOIN hub_submissions s ON s.id = m.submission_id"
    " JOIN hub_stations st ON st.id = s.station_id"
    " LEFT JOIN hub_page_holders h ON h.station_id = s.station_id AND h.sha256 = m.sha256"
    " WHERE h.sha256 IS NULL GROUP BY st.code"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.sqlite3"
    else:
        with pg_database(request.getfixturevalue("pg_admin_url"), "pagesmissing") as url:
            yield url


def page(tag: str) -> dict[str, object]:
    return {"sha256": hashlib.sha256(tag.encode()).hexdigest(), "size": len(tag)}


def manifest(*tags: str) -> dict[str, object]:
    return {"submission_id": str(uuid.uuid4()), "pages": [page(t) for t in tags]}


def missing_now(store: HubStore) -> dict[str, int]:
    return {r["station"]: r["pages_missing"] for r in ops.stations(store) if r["pages_missing"]}


def full_definition(store: HubStore) -> dict[str, int]:
    with store.engine.connect() as c:
        return {code: int(n) for code, n in c.execute(FULL)}


def flagged(store: HubStore) -> int:
    with store.engine.connect() as c:
        return int(
            c.execute(text("SELECT count(*) FROM hub_manifest_pages WHERE missing")).one()[0]
        )


def test_pages_missing_counts_what_the_full_join_counts_through_every_way_pages_arrive(
    db_url, tmp_path
):
    store = HubStore(db_url, masters=KEYS)
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        one, two = (
            store.authenticate(
                store.enroll(store.issue_enroll_code(code), str(uuid.uuid4()))["token"]
            )
            for code in ("XX01", "XX02")
        )
        sha = lambda t: str(page(t)["sha256"])  # noqa: E731

        # the classic way: the manifest first, the pages on their own later
        store.manifests(one, [manifest("a1", "a2"), manifest("a3")], blobs)
        assert missing_now(store) == {"XX01": 3} == full_definition(store)
        store.add_holder(one, [sha("a1"), sha("a3")])
        assert missing_now(store) == {"XX01": 1} == full_definition(store)
        assert flagged(store) == 1  # the arrived pages' flags are cleared, not only ignored

        # one request per intake: holders, then manifests; nothing is flagged
        before = flagged(store)
        store.ingest_intake(
            one, one.store_id, [manifest("b1", "b2")], [], blobs, [sha("b1"), sha("b2")]
        )
        assert flagged(store) == before and missing_now(store) == full_definition(store)

        # ... carrying a page that an earlier manifest named: counted as arrived at once
        store.ingest_intake(one, one.store_id, [manifest("c1")], [], blobs, [sha("c1"), sha("a2")])
        assert missing_now(store) == {} == full_definition(store)

        # the same page named by another station is missing for it until it sends it itself
        store.manifests(two, [manifest("a1", "d1")], blobs)
        assert missing_now(store) == {"XX02": 2} == full_definition(store)
        store.add_holder(two, [sha("a1")])
        assert missing_now(store) == {"XX02": 1} == full_definition(store)

        # a manifest naming a page its station already holds is not flagged
        store.manifests(two, [manifest("a1")], blobs)
        assert missing_now(store) == {"XX02": 1} == full_definition(store)
    finally:
        store.close()


def test_a_database_from_before_the_flag_is_migrated_with_the_same_count(db_url, tmp_path):
    store = HubStore(db_url, masters=KEYS)
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        p = store.authenticate(
            store.enroll(store.issue_enroll_code("XX01"), str(uuid.uuid4()))["token"]
        )
        store.manifests(p, [manifest("e1", "e2", "e3")], blobs)
        store.add_holder(p, [str(page("e2")["sha256"])])
        expected = full_definition(store)
        assert expected == {"XX01": 2}
        with store.engine.begin() as c:  # back to revision 0008: no flag, no index
            command.downgrade(_config(c), "0008")
        with store.engine.connect() as c:
            assert "missing" not in {
                col["name"] for col in inspect(c).get_columns("hub_manifest_pages")
            }
    finally:
        store.close()
    store = HubStore(db_url, masters=KEYS)  # what `intake hub serve` does at its start
    try:
        assert flagged(store) == 2
        assert missing_now(store) == expected == full_definition(store)
    finally:
        store.close()
