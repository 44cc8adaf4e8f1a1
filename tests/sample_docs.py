"""Realistic IntakeDocument values for printing tests and the print benchmark.

The 新生儿出生 bundle with 4 chosen items and 8 merged materials in every state (4 collected,
1 exempt, 1 tolerated, 2 missing). Names are chosen so that no material name is a substring of
another printed text (item names, labels), which lets tests assert absence by substring.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from app.documents import DocApplicant, DocItem, DocKind, DocMaterial, IntakeDocument
from app.numbering import encode_receipt_payload, format_intake_number

CST = dt.timezone(dt.timedelta(hours=8))
ISSUED_AT = dt.datetime(2024, 12, 2, 10, 15, 30, tzinfo=CST)
DUE = dt.date(2024, 12, 9)
NUMBER = format_intake_number("XX01", ISSUED_AT.date(), 73)

PERSON = DocApplicant(
    kind="personal",
    name="张秀英",
    resident_id="11010519491231002X",
    address="河南省新乡市新乡县七里营镇刘庄村一组18号",
    phone="13812345678",
    identity_source="card",
)

ENTERPRISE = DocApplicant(
    kind="enterprise",
    name="新乡县禾丰农业科技有限公司",
    resident_id="440524188001010014",
    address="河南省新乡市新乡县小冀镇工业园区8号",
    phone="13987654321",
    uscc="91350100M000100Y43",
    legal_representative="李建国",
    agent_name="王芳",
)

ITEMS = (
    DocItem("新生儿预防接种证办理", "新乡县卫生健康委员会", "即办"),
    DocItem("户口登记（出生登记）", "新乡县公安局", "1个工作日"),
    DocItem("城乡居民基本医疗保险参保登记", "新乡县医疗保障局", "即办"),
    DocItem("社会保障卡申领", "新乡县人力资源和社会保障局", "5个工作日"),
)

MATERIALS = (
    DocMaterial(
        seq=1,
        name="出生医学证明",
        form="original",
        copies=1,
        state="collected",
        pages=1,
        acceptance_standard="由具有助产资质的医疗机构签发，信息完整无涂改",
        how_to_obtain="新生儿出生的助产医疗机构",
        required_by=(ITEMS[0].name, ITEMS[1].name, ITEMS[2].name),
    ),
    DocMaterial(
        seq=2,
        name="父母双方居民身份证",
        form="original_and_copy",
        copies=1,
        state="collected",
        pages=2,
        acceptance_standard="在有效期内，复印件正反面复印在同一页",
        how_to_obtain="户籍所在地公安机关",
        required_by=(ITEMS[1].name, ITEMS[3].name),
    ),
    DocMaterial(
        seq=3,
        name="居民户口簿",
        form="original",
        copies=1,
        state="collected",
        pages=4,
        acceptance_standard="申报落户的户口簿，含户主页及本人页",
        how_to_obtain="户籍所在地公安派出所",
        required_by=(ITEMS[1].name,),
    ),
    DocMaterial(
        seq=4,
        name="结婚证",
        form="original_and_copy",
        copies=1,
        state="exempt",
        exempt_via="电子结婚证（婚姻登记信息共享）",
        acceptance_standard="夫妻双方的结婚证",
        how_to_obtain="婚姻登记机关",
        required_by=(ITEMS[1].name,),
    ),
    DocMaterial(
        seq=5,
        name="新生儿近期一寸免冠彩色照片",
        form="original",
        copies=2,
        state="tolerated",
        due_date=DUE,
        acceptance_standard="白色背景，近三个月内拍摄",
        how_to_obtain="照相馆或社保卡服务网点现场拍摄",
        required_by=(ITEMS[3].name,),
    ),
    DocMaterial(
        seq=6,
        name="城乡居民医保参保登记表",
        form="original",
        copies=1,
        state="collected",
        pages=1,
        acceptance_standard="监护人签字确认",
        how_to_obtain="窗口现场填写",
        required_by=(ITEMS[2].name,),
    ),
    DocMaterial(
        seq=7,
        name="房屋所有权证或租赁合同",
        form="copy",
        copies=1,
        state="missing",
        acceptance_standard="能证明在本县有合法稳定住所，租赁合同须经备案",
        how_to_obtain="不动产登记中心（房屋所有权证）或住房租赁备案机关",
        required_by=(ITEMS[1].name,),
    ),
    DocMaterial(
        seq=8,
        name="生育登记服务单",
        form="original",
        copies=1,
        state="missing",
        acceptance_standard="加盖乡镇（街道）卫生健康办公章",
        how_to_obtain="户籍地乡镇人民政府（街道办事处）卫生健康办",
        required_by=(ITEMS[0].name,),
    ),
)


def sample_document(
    kind: DocKind = "receipt",
    *,
    applicant: DocApplicant = PERSON,
    reprint: bool = False,
    materials: tuple[DocMaterial, ...] = MATERIALS,
    sequence: int = 73,
) -> IntakeDocument:
    number = format_intake_number("XX01", ISSUED_AT.date(), sequence)
    return IntakeDocument(
        kind=kind,
        number=number,
        centre_name="新乡县政务服务中心",
        station_name="综合受理3号窗口",
        clerk_name="刘晓燕",
        issued_at=ISSUED_AT,
        bundle_name="新生儿出生一件事",
        items=ITEMS,
        applicant=applicant,
        materials=materials,
        qr_payload=encode_receipt_payload(number, t="20241202T101530", v="2024.11"),
        catalog_version="2024.11",
        progress_phone="0373-5550123",
        delivery="邮寄：河南省新乡市新乡县七里营镇刘庄村一组18号",
        tolerated_due=DUE,
        reprint=reprint,
        notes=("预防接种证请于新生儿满月后到乡镇卫生院领取。",),
    )


def with_applicant_name(doc: IntakeDocument, name: str) -> IntakeDocument:
    return dataclasses.replace(doc, applicant=dataclasses.replace(doc.applicant, name=name))
