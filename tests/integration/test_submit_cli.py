"""`intake submit | supplement | withdraw | deliver` (issue 11, a scriptable intake): driven
through a real subprocess against a real store, every printed PDF read back with pypdf and
compared with the checklist the service computed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.cli import main
from app.context import build_context
from local_db.models import Applicant, AuditEntry, Document, Event, Submission

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

PERSON = {
    "name": "张秀英",
    "resident_id": "11010519491231002X",
    "phone": "13812345678",
    "address": "新乡县七里营镇刘庄村一组18号",
}
NEWBORN = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": False}


@pytest.fixture()
def db(tmp_path):
    """A station (新乡县) with one clerk, on the bundled catalog the CLI uses."""
    path = tmp_path / "intake.sqlite3"
    ctx = build_context(path)
    _st, admin = ctx.staff.setup_station(
        code="XX01",
        name="城关镇便民服务中心",
        centre_name="新乡县政务服务中心",
        jurisdiction="xinxiang",
        admin_username="admin",
        admin_display_name="管理员",
        admin_password="admin1234",
        progress_phone="0373-5585000",
    )
    ctx.staff.create_account(
        admin, username="wangfang", display_name="王芳", role="clerk", password="clerk1234"
    )
    ctx.close()
    return path


def cli(*argv: str) -> tuple[int, dict]:
    """`python -m app ARGV --json` in a subprocess; (exit code, parsed JSON answer)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "app", *argv, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def newborn(marks: dict, **more) -> dict:
    """The intake file of a 新生儿出生 intake by 王芳 for PERSON with MARKS; MORE adds or
    replaces fields."""
    spec = {
        "clerk": "wangfang",
        "applicant": PERSON,
        "bundle": "新生儿出生",
        "answers": NEWBORN,
        "marks": marks,
    }
    return {**spec, **more}


def all_collected() -> dict:
    return {m.id: "collected" for m in lines_for("newborn_birth", NEWBORN)}


def intake_file(tmp_path: Path, spec: dict, name: str = "intake.json") -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return f


def submit(tmp_path: Path, db: Path, spec: dict, name: str = "intake.json") -> tuple[int, dict]:
    f = intake_file(tmp_path, spec, name)
    return cli("submit", str(f), "--db", str(db), "--print-dir", str(tmp_path / "out"))


def pdf_text(path: str) -> str:
    pages = PdfReader(io.BytesIO(Path(path).read_bytes())).pages
    return "".join("".join(p.extract_text().split()) for p in pages)


def checklist_of(db: Path, number: str):
    ctx = build_context(db)
    try:
        sid = ctx.queries.find_by_number(number)
        return ctx.intake.checklist(sid), ctx.queries.get(sid)
    finally:
        ctx.close()


def lines_for(bundle: str, answers: dict) -> list:
    """The lines the clerk can mark for BUNDLE (to decide the marks the test gives): those produced
    within the bundle take no mark."""
    from app import checklist as engine
    from app.catalog_load import load_catalog

    cat = load_catalog(None)
    lines = engine.evaluate(
        cat.bundle(bundle), None, answers, {}, catalog=cat, jurisdiction="xinxiang"
    ).materials
    return [m for m in lines if m.produced_by is None]


def decide_all(db: Path, number: str) -> None:
    """Intake NUMBER pushed, and every item accepted and completed by its department."""
    ctx = build_context(db)
    try:
        sid = ctx.queries.find_by_number(number)
        ctx.intake.mark_pushed(sid)
        for item in ctx.queries.get(sid).items:
            ctx.intake.record_decision(None, sid, item, "accepted")
            ctx.intake.record_decision(None, sid, item, "completed")
    finally:
        ctx.close()


def counts(db: Path) -> tuple[int, ...]:
    ctx = build_context(db)
    try:
        with ctx.sessions() as s:
            return tuple(
                s.scalar(select(func.count()).select_from(t))
                for t in (Submission, Applicant, Event, Document)
            )
    finally:
        ctx.close()


STATE = {"collected": "已收", "exempt": "免提交", "tolerated": "容缺", "missing": "缺"}
FORM = {
    "original": "原件",
    "copy": "复印件",
    "original_and_copy": "原件及复印件",
    "electronic": "复印件",
}


def test_complete_intake_is_received_and_its_receipt_lists_the_checklist(tmp_path, db):
    marks = {
        m.id: "exempt" if m.id.startswith("resident_id_card") else "collected"
        for m in lines_for("newborn_birth", NEWBORN)
    }
    code, out = submit(tmp_path, db, newborn(marks))
    assert code == 0, out
    assert out["outcome"] == "received" and out["verdict"] == "complete"
    assert set(out["documents"]) == {"receipt"}
    assert Path(out["documents"]["receipt"]).name == f"{out['number']}-receipt.pdf"
    checklist, view = checklist_of(db, out["number"])
    assert view.stage in ("received", "digitised") and view.clerk_name == "王芳"
    text = pdf_text(out["documents"]["receipt"])
    assert "收件回执" in text and out["number"] in text and "138****5678" in text
    for n, m in enumerate(checklist.materials, start=1):
        # an exempt material's cell also names the licence that made it exempt
        via = f"免提交依据：{m.exempt_basis}" if m.state == "exempt" else ""
        row = f"{n}{m.name}{via}{FORM[m.form]}{m.copies}"
        assert "".join(row.split()) in text, row
        assert STATE[m.state] in text
    assert "容缺受理材料" not in text  # nothing tolerated: no such table


def test_notified_intake_prints_a_notice_with_the_tolerated_material_and_its_limit(tmp_path, db):
    lines = lines_for("newborn_birth", NEWBORN)
    missing = [m for m in lines if m.id != "marriage_certificate"][:3]
    marks = {m.id: "collected" for m in lines if m not in missing}
    marks["marriage_certificate"] = "tolerated"
    marks[missing[0].id] = "missing"  # said explicitly, as the window's 0 key does
    code, out = submit(tmp_path, db, newborn(marks))
    assert code == 0, out
    assert (
        out["outcome"] == "notified"
        and out["verdict"] == "incomplete"
        and set(out["documents"]) == {"notice"}
    )
    assert [m["id"] for m in out["missing"]] == [m.id for m in missing]
    checklist, _view = checklist_of(db, out["number"])
    text = pdf_text(out["documents"]["notice"])
    owed = [m for m in checklist.materials if m.state in ("missing", "tolerated")]
    assert {m.id for m in owed} == {*(m.id for m in missing), "marriage_certificate"}
    for n, m in enumerate(owed, start=1):
        assert f"{n}{m.name}" in text, m.name
    # 户口登记 (1 working day) needs the 结婚证: it is due 1 working day after receipt
    assert "结婚证" in text and "可容缺，收件之日起1个工作日内补交" in text
    assert text.count("收件前补齐") == 3
    table = text[text.index("三、需要补正的全部材料") : text.index("四、告知信息")]
    for m in checklist.materials:
        if m.state == "collected":
            assert f"{m.name}{FORM[m.form]}" not in table, m.name  # asks for nothing else


def test_enterprise_with_an_ma_credit_code_gets_commitment_and_receipt(tmp_path, db):
    answers = {
        "business_area": 120,
        "venue_ownership": "owned",
        "outdoor_sign": False,
        "applied_by_agent": False,
    }
    marks = {m.id: "collected" for m in lines_for("restaurant_opening", answers)}
    marks["health_certificates"] = "tolerated"
    enterprise = {
        "kind": "enterprise",
        "name": "上海禾丰餐饮管理有限公司",
        "uscc": "91310000MA1FW1BXX2",
        "legal_representative": "李建国",
        "resident_id": "440524188001010014",
        "phone": "13987654321",
        "address": "新乡县小冀镇工业园区8号",
    }
    code, out = submit(
        tmp_path,
        db,
        {
            "clerk": "wangfang",
            "applicant": enterprise,
            "bundle": "开办餐饮店",
            "answers": answers,
            "marks": marks,
        },
    )
    assert code == 0, out
    assert out["outcome"] == "received" and out["verdict"] == "complete_with_tolerance"
    assert list(out["documents"]) == ["commitment", "receipt"]
    due = out["tolerance_due"]
    y, mth, d = due.split("-")
    due_text = f"{y}年{mth}月{d}日"
    commitment = pdf_text(out["documents"]["commitment"])
    assert "91310000MA1FW1BXX2" in commitment and "上海禾丰餐饮管理有限公司" in commitment
    assert "法定代表人身份证号440524188001010014" in commitment  # in full on the letter
    assert f"1从业人员健康证明复印件1{due_text}" in commitment
    assert commitment.count("第一联承诺人留存") == 1 and "法定代表人（签字）" in commitment
    receipt = pdf_text(out["documents"]["receipt"])
    checklist, _view = checklist_of(db, out["number"])
    for n, m in enumerate(checklist.materials, start=1):
        assert f"{n}{''.join(m.name.split())}" in receipt, m.name
    assert "四、容缺受理材料" in receipt and due_text in receipt
    assert "440524********0014" in receipt  # masked on the receipt


def test_supplement_withdraw_and_deliver(tmp_path, db):
    marks = all_collected()
    marks["marriage_certificate"] = "tolerated"
    code, out = submit(tmp_path, db, newborn(marks))
    assert code == 0 and list(out["documents"]) == ["commitment", "receipt"]
    number, out_dir = out["number"], str(tmp_path / "out")

    supplement = ("supplement", number, "--material", "marriage_certificate")
    code, sup = cli(*supplement, "--clerk", "wangfang", "--db", str(db), "--print-dir", out_dir)
    assert code == 0, sup
    assert sup["awaiting_supplement"] is False and sup["still_owed"] == []
    text = pdf_text(sup["documents"]["supplement"])
    assert (
        "补正材料收件回执" in text
        and "1结婚证原件及复印件1" in text
        and "容缺材料已全部补齐" in text
    )
    before = counts(db)
    code, again = cli(*supplement, "--clerk", "wangfang", "--db", str(db), "--print-dir", out_dir)
    assert code == 1 and again["error"]["code"] == "intake.nothing_to_supplement"
    code, unknown = cli(
        "withdraw",
        "XX01-241202-0099-0",
        "--reason",
        "申请人主动撤回",
        "--clerk",
        "wangfang",
        "--db",
        str(db),
    )
    assert (
        code == 1
        and unknown["error"]["code"] == "intake.unknown_number"
        and "找不到受理编号" in unknown["error"]["message"]
    )
    assert counts(db) == before  # refused: no event, no document

    code, wd = cli(
        "withdraw",
        number,
        "--reason",
        "申请人主动撤回",
        "--clerk",
        "wangfang",
        "--db",
        str(db),
        "--print-dir",
        out_dir,
    )
    assert code == 0 and wd["stage"] == "withdrawn"
    text = pdf_text(wd["documents"]["return_list"])
    assert "撤回申请材料退还清单" in text and "结婚证" in text

    # a second intake, decided by the departments, is delivered by express
    code, out2 = submit(
        tmp_path,
        db,
        newborn({**marks, "marriage_certificate": "collected"}),
        name="second.json",
    )
    assert code == 0
    code, err = cli(
        "deliver", out2["number"], "--method", "window", "--clerk", "wangfang", "--db", str(db)
    )
    assert code == 1 and err["error"]["code"] == "intake.transition"  # nothing decided yet
    decide_all(db, out2["number"])
    code, err = cli(
        "deliver", out2["number"], "--method", "express", "--clerk", "wangfang", "--db", str(db)
    )
    assert (
        code == 1
        and err["error"]["code"] == "intake.tracking_required"
        and "快递单号" in err["error"]["message"]
    )
    code, dl = cli(
        "deliver",
        out2["number"],
        "--method",
        "express",
        "--tracking-number",
        "SF1234567890123",
        "--address",
        "新乡县人民路1号",
        "--clerk",
        "wangfang",
        "--db",
        str(db),
    )
    assert code == 0 and dl["stage"] == "delivered" and dl["delivery_method"] == "express"


BAD = [
    ({"bundle": "没有这个一件事"}, "intake.unknown_bundle", "没有这个一件事"),
    (
        {"applicant": {**PERSON, "resident_id": "110105194912310021"}},
        "applicant.resident_id",
        "校验",
    ),
    ({"marks": {"no_such_material": "collected"}}, "submit.unknown_material", "no_such_material"),
    ({"marks": {"resident_id_card": "maybe"}}, "submit.bad_mark", "collected（已收）"),
    ({"marks": {"business_license": "collected"}}, "checklist.mark_not_in_list", "营业执照"),
    ({"applicant": {**PERSON, "phone": ""}}, "intake.no_phone", "联系电话"),
    ({"clerk": "nobody"}, "submit.unknown_clerk", "nobody"),
    ({"answers": {"parents_married": "也许"}}, None, None),
]


@pytest.mark.parametrize(
    ("change", "code", "words"), BAD, ids=[c or "bad_answer" for _ch, c, _w in BAD]
)
def test_bad_input_is_refused_in_chinese_and_leaves_nothing(
    tmp_path, db, capsys, change, code, words
):
    f = intake_file(tmp_path, {**newborn(all_collected()), **change}, "bad.json")
    before = counts(db)
    with build_context(db).sessions() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    out_dir = tmp_path / "out"
    rc = main(["submit", str(f), "--db", str(db), "--print-dir", str(out_dir), "--json"])
    error = json.loads(capsys.readouterr().out)["error"]
    assert rc == 1
    if code is not None:
        assert error["code"] == code and words in error["message"]
    assert any("\u4e00" <= c <= "\u9fff" for c in error["message"])  # said in Chinese
    assert counts(db) == before  # no draft, no applicant, no event, no document
    with build_context(db).sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert not any(out_dir.glob("*.pdf"))


def test_a_document_that_cannot_be_written_leaves_nothing(tmp_path, db, capsys, monkeypatch):
    marks = all_collected()
    marks["marriage_certificate"] = "tolerated"  # two documents: the second one fails
    f = intake_file(tmp_path, newborn(marks), "ok.json")
    out_dir = tmp_path / "out"
    before = counts(db)
    blobs = {p for p in (tmp_path / "intake-files" / "blobs").rglob("*") if p.is_file()}
    real_write = Path.write_bytes

    def full_disk(self, data):  # the disk fills up while the receipt is written
        if self.name.endswith("-receipt.pdf"):
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    rc = main(["submit", str(f), "--db", str(db), "--print-dir", str(out_dir), "--json"])
    error = json.loads(capsys.readouterr().out)["error"]
    assert rc == 1 and error["code"] == "submit.write_failed" and "无法写入" in error["message"]
    assert counts(db) == before
    assert not any(out_dir.glob("*.pdf"))  # the commitment written first is gone again
    assert {p for p in (tmp_path / "intake-files" / "blobs").rglob("*") if p.is_file()} == blobs


def test_the_intake_file_is_checked_before_anything_is_opened(tmp_path, db, capsys):
    f = tmp_path / "typo.json"
    f.write_text(
        '{"clerk": "wangfang", "applicant": {}, "bundle": "新生儿出生", "mark": {}}',
        encoding="utf-8",
    )
    assert main(["submit", str(f), "--db", str(db), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "submit.unknown_field" and "mark" in error["message"]
    f.write_text('{"clerk": ', encoding="utf-8")
    assert main(["submit", str(f), "--db", str(db), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "submit.json"


def test_a_card_reading_is_the_applicant(tmp_path, db, capsys):
    card = {
        "ok": True,
        "card": {
            "name": "张秀英",
            "gender": "女",
            "birth_date": "1949-12-31",
            "address": "北京市朝阳区",
            "resident_id": "11010519491231002X",
            "expired": False,
        },
    }
    spec = newborn(all_collected(), applicant={"card": card, "phone": "13812345678"})
    f = intake_file(tmp_path, spec, "card.json")
    assert main(["submit", str(f), "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents"] == {"receipt": None}  # kept with the intake, no --print-dir
    _checklist, view = checklist_of(db, out["number"])
    assert (
        view.applicant.sources["resident_id"] == "card"
        and view.applicant.sources["phone"] == "typed"
    )
    assert view.applicant.identity_source == "card"


def test_the_readme_example_file_is_received_with_a_commitment(tmp_path, capsys):
    from app.demo import setup_demo_station

    path = tmp_path / "demo.sqlite3"
    ctx = build_context(path)
    setup_demo_station(ctx.staff)  # the README's demo accounts (wangfang)
    ctx.close()
    example = ROOT / "docs" / "examples" / "newborn-intake.json"
    assert (
        main(
            [
                "submit",
                str(example),
                "--db",
                str(path),
                "--print-dir",
                str(tmp_path / "out"),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["outcome"] == "received" and out["verdict"] == "complete_with_tolerance"
    assert [t["name"] for t in out["tolerated"]] == ["结婚证"]
    assert "结婚证" in pdf_text(out["documents"]["commitment"])


def _jpeg(seed: int) -> bytes:
    import cv2
    import numpy as np

    img = np.full((120, 90, 3), 255, np.uint8)
    cv2.putText(img, str(seed), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def test_pages_in_the_file_are_attached_and_a_non_image_refused(tmp_path, db):
    """`pages` bring captured scans (paths relative to the intake file): stored encrypted under
    their material and printed as its 页数; a file that is not a JPEG/PNG refuses the whole intake."""
    (tmp_path / "scans").mkdir()
    pages = [_jpeg(1), _jpeg(2)]
    for n, data in enumerate(pages, start=1):
        (tmp_path / "scans" / f"hukou-{n}.jpg").write_bytes(data)
    scans = ["scans/hukou-1.jpg", "scans/hukou-2.jpg"]
    spec = newborn(all_collected(), pages={"household_register": scans})
    code, out = submit(tmp_path, db, spec)
    assert code == 0, out
    assert out["pages"] == 2
    ctx = build_context(db)
    try:
        sid = ctx.queries.find_by_number(out["number"])
        stored = ctx.queries.get(sid).pages_for("household_register")
        assert [ctx.pages.page_bytes(p) for p in stored] == pages
    finally:
        ctx.close()
    assert "居民户口簿原件及复印件12" in pdf_text(out["documents"]["receipt"])  # 份数 1, 页数 2

    before = counts(db)
    (tmp_path / "scans" / "notes.jpg").write_text("不是图片", encoding="utf-8")
    spec["pages"] = {"household_register": ["scans/notes.jpg"]}
    code, out = submit(tmp_path, db, spec, name="bad.json")
    assert (
        code == 1
        and out["error"]["code"] == "submit.page_type"
        and "notes.jpg" in out["error"]["message"]
    )
    assert counts(db) == before
