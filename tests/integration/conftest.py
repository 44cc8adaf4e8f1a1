import datetime as dt

import pytest

from app.clock import FixedClock
from app.context import build_context

T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 in the station's zone


@pytest.fixture()
def clock():
    return FixedClock(T0)


@pytest.fixture()
def ctx(tmp_path, newborn_catalog, clock):
    c = build_context(tmp_path / "intake.sqlite3", clock=clock, catalog_path=newborn_catalog)
    yield c
    c.close()


ACCOUNTS = {  # role: (username, display name, password)
    "clerk": ("wang", "王芳", "clerk1234"),
    "supervisor": ("zhang", "张静", "super1234"),
}


def station_staff(ctx, code="XX01", accounts=("clerk", "supervisor")):
    """Station CODE (城关镇便民服务中心, 新乡县政务服务中心) set up in CTX with its admin and the
    ACCOUNTS roles: {"admin": …, "clerk": …, "supervisor": …} (StaffViews)."""
    _st, admin = ctx.staff.setup_station(
        code=code,
        name="城关镇便民服务中心",
        centre_name="新乡县政务服务中心",
        jurisdiction="xinxiang",
        admin_username="admin",
        admin_display_name="管理员",
        admin_password="admin1234",
    )
    made = {"admin": admin}
    for role in accounts:
        username, display_name, password = ACCOUNTS[role]
        made[role] = ctx.staff.create_account(
            admin, username=username, display_name=display_name, role=role, password=password
        )
    return made


@pytest.fixture()
def staff(ctx):
    return station_staff(ctx)


# The sync tests' station catalog and county hub (test_sync_hub has its own, on PostgreSQL too).
@pytest.fixture()
def catalog(tmp_path):
    from tests.sync_doubles import small_catalog

    return small_catalog(tmp_path / "catalog")


@pytest.fixture()
def hub(tmp_path):
    from sync.hub.server import HubThread

    h = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    yield h
    h.stop()


# PostgreSQL for the hub's tests: INTAKE_TEST_PG_URL (installer/ci-postgres.sh prints it), else
# one throwaway cluster for the whole run.
@pytest.fixture(scope="session")
def pg_admin_url():
    from tests.sync_doubles import pg_server

    with pg_server() as url:
        yield url


@pytest.fixture()
def pg_url(request, pg_admin_url):
    """A fresh database for one test, named after its module, dropped afterwards."""
    from tests.sync_doubles import pg_database

    prefix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    with pg_database(pg_admin_url, prefix) as url:
        yield url


def undo_revisions_after_0005(con):
    """Make a store written by this release look as revision 0005 left it (for tests that upgrade
    an older store): 0006's seal definition, 0008's keyed page address (0007 only stamps), 0009's
    applicant document type, and what 0010 and later add (forms, notices, consultations and
    acceptance, consent and reuse, ratings, online applications, hand-over)."""
    con.execute("DROP TABLE reuse_records")
    con.execute("DROP TABLE consent_events")
    con.execute("DROP TABLE consultations")
    con.execute("ALTER TABLE submission_items DROP COLUMN first_decided_at")
    for column in ("acceptance_due", "acceptance_pending", "acceptance_late"):
        con.execute(f"ALTER TABLE submissions DROP COLUMN {column}")
    con.execute("DROP TABLE applicant_notices")
    con.execute("DROP TABLE form_prints")
    con.execute("DROP TABLE ratings")
    con.execute("DROP TABLE online_applications")
    con.execute("ALTER TABLE applicants DROP COLUMN document_type")
    con.execute("ALTER TABLE day_closes DROP COLUMN definition")
    con.execute("DROP INDEX ix_attachments_address")
    for table in ("attachments", "documents"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN address")
    con.execute("CREATE INDEX ix_attachments_sha256 ON attachments (sha256)")
    # 0016: agents, 优先办, hand-over of paper
    for table in ("handover_lines", "handover_batches", "agents"):
        con.execute(f"DROP TABLE {table}")
    con.execute("ALTER TABLE submissions DROP COLUMN priority")
