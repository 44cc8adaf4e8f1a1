"""The online channel's request bodies (一体化政务服务平台 → hub, window → hub), validated by the
hub and described in its OpenAPI document (sync/hub/routes/online.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_FILES = 30
MAX_FILE_BYTES = 8 * 1024 * 1024  # one uploaded file, decoded
REVIEW_HOURS = 2  # 001 §四(二)2: an online application is reviewed within two hours
CLAIM_MINUTES = 30  # a claim not answered within this long may be taken by another window

_REF = r"^[A-Za-z0-9_-]{1,64}$"
_MATERIAL = r"^[A-Za-z0-9_.:-]{1,64}$"


class OnlineApplicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    resident_id: str = Field(min_length=1, max_length=32)
    phone: str = Field("", max_length=32)
    address: str = Field("", max_length=200)


class OnlineFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    material_id: str = Field(pattern=_MATERIAL, description="the catalog material it stands for")
    name: str = Field(min_length=1, max_length=120, description="file name shown to the clerk")
    data: str = Field(
        min_length=4,
        max_length=(MAX_FILE_BYTES * 4) // 3 + 4,
        description="the file, base64 (PDF, JPEG or PNG; checked by content)",
    )


class OnlineApplicationIn(BaseModel):
    """What the platform sends: one application with its files."""

    model_config = ConfigDict(extra="forbid")
    platform_ref: str = Field(pattern=_REF, description="the platform's own application id")
    county: str = Field(pattern=r"^[A-Za-z0-9]{1,12}$", description="county (region) code")
    bundle: str = Field(min_length=1, max_length=64, description="the bundle (一件事) id or name")
    items: list[str] | None = Field(None, max_length=50, description="chosen items; null: default")
    answers: dict[str, bool | int | str | list[str]] = Field(
        default_factory=dict, max_length=100, description="situation answers"
    )
    applicant: OnlineApplicant
    files: list[OnlineFile] = Field(default_factory=list, max_length=MAX_FILES)


class OnlineAnswerIn(BaseModel):
    """A window's answer: 电子收件回执 (every material received) or 电子一次告知通知书."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["receipt", "notice"]
    number: str = Field(pattern=r"^[A-Za-z0-9-]{4,32}$", description="the station's intake number")
    marks: dict[str, Literal["received", "missing"]] = Field(max_length=200)
    missing: list[str] = Field(default_factory=list, max_length=200, description="names missing")
    document: str = Field(
        min_length=4, max_length=(MAX_FILE_BYTES * 4) // 3 + 4, description="the PDF, base64"
    )


BODY_MODELS: tuple[type[BaseModel], ...] = (
    OnlineApplicant,
    OnlineFile,
    OnlineApplicationIn,
    OnlineAnswerIn,
)
