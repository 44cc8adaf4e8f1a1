"""Kill -9 during an intake save (the window's save path, driven by a subprocess): nothing an
acknowledged clerk saw is lost, nothing half-written, nothing doubled, integrity_check ok. A
short run here; bench/bench_kill_intake.py runs the 100 trials and prints the figures."""

import json
import sqlite3
from collections import Counter

import pytest

from tests.kill_intake import Figures, _check, _run_child, make_store, run_campaign

pytestmark = pytest.mark.integration


def test_kill_9_at_random_points_of_finish_and_page_writes(tmp_path):
    fig = run_campaign(tmp_path / "k", trials=10, seed=7)
    print(json.dumps(fig.to_json(), ensure_ascii=False))
    assert fig.problems == []
    assert (fig.lost, fig.half_written, fig.doubled) == (0, 0, 0)
    assert fig.integrity_ok == fig.trials == 10
    assert fig.acknowledged > 0 and fig.acknowledged_present == fig.acknowledged
    # the kills landed where they were aimed: inside finish and inside page writes
    assert fig.kills_in_finish >= 2 and fig.kills_in_page_write >= 2


def test_the_check_sees_a_lost_intake_and_a_half_written_page(tmp_path):
    db, catalog = make_store(tmp_path / "k")
    lines = _run_child(db, catalog, "fsync", 9, 1, 0.0, 60)
    acks = {w[1]: w[2] for w in (x.split() for x in lines) if w[0] == "ACK"}
    pages = {}
    for w in (x.split() for x in lines):
        if w[0] == "PAGE":
            pages.setdefault(w[1], []).append(w[2])
    attempted = Counter(w[1] for w in (x.split() for x in lines) if w[0] == "PAGE-START")
    assert acks and pages
    clean = Figures()
    _check(db, catalog, acks, pages, attempted, clean)
    assert (clean.lost, clean.half_written, clean.doubled) == (0, 0, 0)

    _number, sid = next(iter(acks.items()))
    con = sqlite3.connect(db)  # an acknowledged intake loses its number, as a lost write would
    con.execute("update submissions set number = null where id = ?", (sid,))
    con.commit()
    con.close()
    blob = next(
        p
        for p in (db.parent / "intake-files" / "blobs").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    blob.write_bytes(blob.read_bytes()[:100])  # a page cut short
    broken = Figures()
    _check(db, catalog, acks, pages, attempted, broken)
    assert (
        broken.lost >= 1 and broken.half_written >= 2
    )  # the cut page; the finish event without a number
