"""What a printed document carries, as plain frozen values.

The intake service builds these from a stored submission; `printing/` turns them into PDF. Keeping
the boundary a dataclass means printing never touches the database and a document can be rebuilt
years later from the submission and the catalog version it was checked against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from app.form_content import FormContent

DocKind = Literal[
    "receipt",
    "notice",
    "commitment",
    "return_list",
    "supplement",
    "application_form",
    "authorization",
]
MaterialState = Literal["collected", "exempt", "tolerated", "missing"]

# Document kinds that are application forms the window prints prefilled from the intake's data
# (一表申请, app.forms): 一件事联办申请表 and 个人信息查询核验授权书. Their printed field counts make
# app.reports' 表单信息自动生成率.
GENERATED_FORM_KINDS: frozenset[str] = frozenset({"application_form", "authorization"})

FORM_LABELS = {"original": "原件", "copy": "复印件", "original_and_copy": "原件及复印件"}
STATE_LABELS = {"collected": "已收", "exempt": "免提交", "tolerated": "容缺", "missing": "缺"}


@dataclass(frozen=True)
class DocApplicant:
    kind: Literal["personal", "enterprise"]
    name: str  # person's name, or the enterprise's name
    resident_id: str = ""  # full number; builders mask it except on the commitment letter
    address: str = ""
    phone: str = ""
    uscc: str = ""  # enterprise only
    legal_representative: str = ""  # enterprise only
    agent_name: str = ""  # 代理人, when someone applies on the applicant's behalf
    agent_resident_id: str = ""  # 帮办代办 (app/agent.py): the agent's own number, checked
    agent_relation: str = ""  # e.g. 子女
    identity_source: Literal["card", "typed", "ocr", "reuse", "licence_qr"] = "typed"
    document_type_name: str = ""  # "" for 居民身份证; else e.g. 外国人永久居留身份证


@dataclass(frozen=True)
class DocItem:
    name: str
    department: str
    time_limit: str  # e.g. "5个工作日", "即办"


@dataclass(frozen=True)
class DocMaterial:
    seq: int
    name: str
    form: Literal["original", "copy", "original_and_copy"]
    copies: int
    state: MaterialState
    pages: int | None = None  # captured pages, when known
    acceptance_standard: str = ""  # 受理标准
    how_to_obtain: str = ""  # where the applicant gets it (issuing department)
    exempt_via: str = ""  # the electronic licence / shared data that made it 免提交
    due_date: dt.date | None = None  # tolerated materials: by when
    required_by: tuple[str, ...] = ()  # item names
    id: str = ""  # the catalog's material id
    due_days: int | None = None  # tolerated before receipt (notice): working days after receipt
    reused_number: str = ""  # 一人一档: taken from this earlier intake (app/reuse.py) …
    reused_date: dt.date | None = None  # … of this day

    @property
    def form_label(self) -> str:
        return FORM_LABELS[self.form]

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class IntakeDocument:
    kind: DocKind
    number: str  # intake number
    centre_name: str  # printed in the heading, e.g. "新乡县政务服务中心"
    station_name: str
    clerk_name: str
    issued_at: dt.datetime  # aware datetime
    bundle_name: str
    items: tuple[DocItem, ...]
    applicant: DocApplicant
    materials: tuple[DocMaterial, ...]
    qr_payload: str  # what the QR encodes (see app.numbering.encode_receipt_payload)
    catalog_version: str
    progress_phone: str = ""  # how to check progress
    progress_hint: str = "扫描本回执二维码或凭受理编号到窗口查询办理进度"
    delivery: str = "窗口领取"  # or "邮寄：<地址>"
    tolerated_due: dt.date | None = None
    reprint: bool = False  # 补打
    priority: str = ""  # 优先办 label (app.agent.PRIORITIES), "" when none
    # 电子收件回执 / 电子一次告知通知书: the answer to an online application
    electronic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    form: FormContent | None = None  # generated forms only: sections and fields
    reuse_consent_on: dt.date | None = None  # 一人一档 consent in force: the day it was given

    @property
    def missing(self) -> tuple[DocMaterial, ...]:
        return tuple(m for m in self.materials if m.state == "missing")

    @property
    def tolerated(self) -> tuple[DocMaterial, ...]:
        return tuple(m for m in self.materials if m.state == "tolerated")
