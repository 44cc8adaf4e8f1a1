"""Issue 15 item 1, 一表申请: the 一件事联办申请表 and the 信息查询核验授权书 printed prefilled from
the intake (read back from the PDF with pdftotext), kept with the intake, and the supervisor's
表单信息自动生成率 summed over the forms actually printed."""

import re
import subprocess

import pytest

from app.clock import STATION_TZ
from app.reports import Period, Reports
from app.views import ApplicantInput
from printing.documents import build_document

pytestmark = pytest.mark.integration

ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}
CARD_READ = ApplicantInput(
    name="张三",
    resident_id="11010519491231002X",
    phone="13812345678",
    address="新乡县人民路1号",
    sources={f: "card" for f in ("name", "resident_id", "gender", "birth_date", "address")},
)
TYPED = ApplicantInput(name="李四", resident_id="440524188001010014", phone="13900001111")


def _finished(ctx, clerk, applicant, exempt: bool) -> str:
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, applicant)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    lines = ctx.intake.checklist(sid).materials
    marks = {
        m.id: "exempt" if exempt and m.exemptable else "collected"
        for m in lines
        if m.state == "missing"
    }
    ctx.intake.mark_many(clerk, sid, marks)
    ctx.intake.finish(clerk, sid)
    return sid


def _print(ctx, clerk, sid, kind, reprint=False):
    doc = ctx.documents.document(clerk, sid, kind, reprint=reprint)
    pdf = build_document(doc)
    ctx.documents.save_document(clerk, sid, kind, pdf, reprint=reprint)
    return doc, pdf


def _text(pdf: bytes, tmp_path, layout: bool) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _after(layout: str, label: str) -> str:
    """What the form prints right of LABEL on its row ("" when the box is empty); the laid-out
    text keeps a table row on one line, columns apart by runs of spaces."""
    line = next(ln for ln in layout.splitlines() if f" {label} " in f" {ln} ")
    rest = re.split(r"\s{2,}", line.split(label, 1)[1].strip())
    return rest[0]


def test_application_form_prints_what_the_intake_holds_and_leaves_the_rest_blank(
    ctx, staff, tmp_path
):
    clerk = staff["clerk"]
    sid = _finished(ctx, clerk, CARD_READ, exempt=True)
    doc, pdf = _print(ctx, clerk, sid, "application_form")
    cells = _text(pdf, tmp_path, layout=True)
    flat = "".join(_text(pdf, tmp_path, layout=False).split())
    assert "一件事联办申请表" in flat and f"受理编号：{doc.number}" in flat
    # From the card and the applicant record (the ID number's 17th digit 2: 女).
    assert _after(cells, "姓名") == "张三"
    assert _after(cells, "性别") == "女"
    assert _after(cells, "出生日期") == "1949年12月31日"
    assert _after(cells, "公民身份号码") == "11010519491231002X"
    assert _after(cells, "户籍地址") == "新乡县人民路1号"
    assert _after(cells, "联系电话") == "13812345678"
    # From the answers, and from data sharing (the 结婚证 and the parents' cards 免提交).
    item_fields = {f.label: f.value for f in doc.form.sections[1].fields}
    assert item_fields == {
        "新生儿父母是否已办理结婚登记（婚内生育）": "是",
        "是否委托他人（非父母本人）代为办理": "否",
        "申请人居民身份证信息": "经数据共享获取（居民身份证电子证照（全国一体化政务服务平台））",
        "结婚证信息": "经数据共享获取（婚姻登记信息共享（民政部门））",
        "新生儿出生信息登记表：具体申请内容": "",
    }
    assert "婚姻登记信息共享（民政部门）" in flat
    # The item's own form is merged, its identity fields asked once.
    assert "已并入本表：新生儿出生信息登记表" in flat
    asked_above = "姓名、性别、出生日期、公民身份号码、户籍地址、联系电话、现居住地址"
    assert f"同上（已在前文填写）：{asked_above}" in flat
    assert flat.count("公民身份号码") == 2  # the field, and the 同上 line naming it
    # Left for the applicant's hand: the next cell is already the next label.
    assert _after(cells, "现居住地址（选填）") == "办理结果领取方式"
    assert _after(cells, "办理结果领取方式") == ""
    assert "新生儿出生信息登记表：具体申请内容" in flat  # its box empty (the field dict above)
    assert "申请人签字：＿＿＿＿＿＿＿＿＿＿＿＿年＿＿月＿＿日" in flat
    # 9 applicant fields (6 prefilled) + the item's 5 (married, agent, two shared: 4).
    assert (doc.form.total, doc.form.prefilled) == (14, 10)
    assert "本表共14项信息，其中窗口自动生成10项。" in flat
    kept = [d for d in ctx.documents.documents(sid) if d[0] == "application_form"]
    assert len(kept) == 1


def test_authorization_names_the_departments_and_the_data_they_verify(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    sid = _finished(ctx, clerk, CARD_READ, exempt=True)
    doc, pdf = _print(ctx, clerk, sid, "authorization")
    cells = _text(pdf, tmp_path, layout=True)
    flat = "".join(_text(pdf, tmp_path, layout=False).split())
    assert "个人信息查询核验授权书" in flat
    for value in ("张三", "11010519491231002X", "13812345678", "县卫健委", "县公安局"):
        assert value in flat
    assert "户口登记（申报出生登记）" in flat and "居民户口簿" in flat
    assert _after(cells, "授权人姓名") == "张三"
    assert _after(cells, "公民身份号码") == "11010519491231002X"
    assert _after(cells, "授权有效期") == ""  # left blank
    assert "授权人签字" in flat
    assert (doc.form.total, doc.form.prefilled) == (4, 3)


def test_form_autofill_rate_sums_the_printed_forms_of_the_day(ctx, staff, clock):
    clerk, sup = staff["clerk"], staff["supervisor"]
    a = _finished(ctx, clerk, CARD_READ, exempt=True)
    b = _finished(ctx, clerk, TYPED, exempt=False)
    c = _finished(ctx, clerk, CARD_READ, exempt=True)  # prints no form: does not count
    _print(ctx, clerk, a, "application_form")  # 14 fields, 10 prefilled (as above)
    _print(ctx, clerk, a, "authorization")  # 4 fields, 3 prefilled
    # Typed, no address, nothing fetched by sharing: 姓名 性别 出生日期 号码 电话 + the two
    # answers = 7 of 14.
    _print(ctx, clerk, b, "application_form")
    _print(ctx, clerk, b, "application_form", reprint=True)  # a reprint replaces, not adds
    assert ctx.documents.form_autofill(a) == (13, 18)
    assert ctx.documents.form_autofill(b) == (7, 14)
    assert ctx.documents.form_autofill(c) == (0, 0)
    reports = Reports(ctx.sessions, lambda: ctx.catalogs.current)
    day = clock.now().astimezone(STATION_TZ).date()
    rec = reports.reconcile(sup, Period.of("day", day), clock.now())
    autofill = next(m for m in rec.metrics if m.name == "autofill")
    assert autofill.label == "表单信息自动生成"
    assert (autofill.numerator, autofill.denominator) == (20, 32)
    assert autofill.value == 62.5 and autofill.met is True


def test_an_enterprise_bundle_merges_its_items_forms_and_asks_each_thing_once(tmp_path, clock):
    """开办餐饮店 on the shipped catalog: the licence's data, the answers in words and units, the
    materials fetched by sharing; the 户外招牌 and 消防 forms ask nothing the 食品经营许可 form
    did not; fields for other bundles' questions, or for an agent nobody sent, are not there."""
    from app.context import build_context

    ctx = build_context(tmp_path / "shipped.sqlite3", clock=clock)
    try:
        clerk = _clerk_on(ctx)
        sid = ctx.intake.start(clerk)
        ctx.intake.set_applicant(
            clerk,
            sid,
            ApplicantInput(
                kind="enterprise",
                name="新乡县好味餐饮有限公司",
                uscc="91350100M000100Y43",
                legal_representative="王五",
                resident_id="440524188001010014",
                phone="13800000000",
                address="新乡县人民路2号",
            ),
        )
        ctx.intake.choose(clerk, sid, "开办餐饮店")
        answers = {"business_area": 350, "venue_ownership": "rented", "outdoor_sign": True}
        ctx.intake.answer_many(clerk, sid, answers | {"applied_by_agent": False})
        lines = ctx.intake.checklist(sid).materials
        marks = {
            m.id: "exempt" if m.exemptable else "collected" for m in lines if m.state == "missing"
        }
        ctx.intake.mark_many(clerk, sid, marks)
        ctx.intake.finish(clerk, sid)
        doc, pdf = _print(ctx, clerk, sid, "application_form")
    finally:
        ctx.close()
    form = doc.form
    by_title = {sec.title: sec for sec in form.sections}
    head = {f.label: f.value for f in by_title["申请人基本信息"].fields}
    assert head == {
        "单位名称": "新乡县好味餐饮有限公司",
        "统一社会信用代码": "91350100M000100Y43",
        "法定代表人": "王五",
        "住所": "新乡县人民路2号",
        "联系电话": "13800000000",
        "经办人及其身份证号": "",
    }
    food = {f.key: f.value for f in by_title["食品经营许可"].fields}
    assert food == {
        "business_premises": "",
        "business_license_info": "经数据共享获取（营业执照电子证照（国家企业信用信息公示系统））",
        "applied_by_agent": "否",
        "business_area": "350平方米",
        "venue_ownership": "租赁",
        "food_business_license_application_request": "",
    }
    assert [f.key for f in by_title["户外招牌设施设置规范管理"].fields] == [
        "outdoor_signboard_application_request"
    ]
    fire = by_title["公众聚集场所投入使用、营业前消防安全检查"]
    assert [f.key for f in fire.fields] == [
        "property_certificate_info",
        "fire_inspection_application_request",
    ]
    assert (
        "经营场所营业面积（建筑面积）是多少" in fire.asked_above and "单位名称" in fire.asked_above
    )
    # 6 + 6 + 1 + 2 fields; prefilled 5 + 4 + 0 + 1
    assert (form.total, form.prefilled) == (15, 10)
    flat = "".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert "已并入本表：食品经营许可申请书" in flat and "350平方米" in flat
    assert "法定代表人（或经办人）签字" in flat and "单位盖章" in flat


def _clerk_on(ctx):
    _st, admin = ctx.staff.setup_station(
        code="XX02",
        name="城关镇便民服务中心",
        centre_name="新乡县政务服务中心",
        jurisdiction="xinxiang",
        admin_username="admin2",
        admin_display_name="管理员",
        admin_password="admin1234",
    )
    return ctx.staff.create_account(
        admin, username="li", display_name="李娜", role="clerk", password="clerk1234"
    )
