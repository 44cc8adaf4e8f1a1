"""The audit chain's hash is one definition shared by the station and the county hub: pinned to
the values stations have written, and loadable by the hub without the station's store."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

from app.audit import GENESIS, _entry_hash, at_text, chain_hash
from sync.protocol import check_audit_entry

ROOT = Path(__file__).resolve().parents[2]


def test_the_hash_is_the_one_stations_have_always_written():
    # values computed by the station's audit log before the hash was shared with the hub: a
    # change here would make every existing chain (and every hub copy) fail its check
    east8 = dt.timezone(dt.timedelta(hours=8))
    assert (
        _entry_hash(GENESIS, dt.datetime(2024, 12, 2, 9, 30, tzinfo=east8), 3, "login.ok", "", "")
        == "d8d960ed49f276b21476677b2c3a4722956657e19a0539b4b81aa48041ef073e"
    )
    at = dt.datetime(2024, 12, 2, 1, 30, 0, 123456, tzinfo=dt.UTC)
    assert (
        chain_hash(
            "ab" * 32,
            at_text(at),
            None,
            "intake.received",
            "XX01-241202-0001-H",
            "notified->received 收件",
        )
        == "6847347e33bcf828f5309f2c61e23b0183d48a181395a0e77e6bbfee1713ae8a"
    )
    assert at_text(at) == "2024-12-02T01:30:00.123456Z"


def test_the_hub_loads_the_hash_without_the_station_store():
    code = "import sys, sync.hub.store, sync.hub.app; print('local_db.models' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_audit_entry_shape():
    e = {
        "id": 1,
        "at": "2024-12-02T01:30:00.000000Z",
        "staff_id": None,
        "action": "login.ok",
        "target": "",
        "detail": "",
        "prev_hash": GENESIS,
        "hash": "a" * 64,
    }
    assert check_audit_entry(e) is None
    assert check_audit_entry(dict(e, id=0)) == "审计记录 id 应为正整数"
    assert check_audit_entry(dict(e, at="2024-12-02 01:30:00")) is not None
    assert check_audit_entry(dict(e, hash="A" * 64)) is not None
    assert check_audit_entry(dict(e, staff_id="3")) is not None
    assert check_audit_entry(dict(e, extra=1)) is not None
    assert check_audit_entry(dict(e, detail="x\x00")) == "审计记录含有空字符"
