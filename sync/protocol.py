"""Version 1 of the intake exchange (described by sync/schemas.py, served as /openapi.json), shared by the client and the hub:
the event wire form, validation of what either side receives, and the framing of page batches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

API_VERSION = 1
PREFIX = "/v1"
JSON = "application/json"
BLOB_BATCH = "application/x-intake-blobs"
# POST /v1/intakes: "<length>\n" (ASCII decimal), LENGTH bytes of JSON {store_id, manifests,
# events}, then page parts framed as in a page batch (frame_header); see sync/README.md.
INTAKE_BUNDLE = "application/x-intake-bundle"
# Optional headers a station sends with its requests; the hub keeps the last values per station
# (`intake hub stations`): client version, catalog version, events waiting in its outbox.
REPORT_HEADERS = ("Intake-Client-Version", "Intake-Catalog-Version", "Intake-Backlog")

# The event types stations wrote when v1 was defined. A hub stores any well-formed type name: the
# station's record is the truth, and a newer station must not be blocked by an older hub.
EVENT_TYPES = frozenset(
    {
        "created",
        "applicant_set",
        "bundle_chosen",
        "answered",
        "material_marked",
        "notified",
        "received",
        "page_attached",
        "page_removed",
        "page_rotated",
        "page_moved",
        "digitised",
        "pushed",
        "item_decided",
        "supplemented",
        "withdrawn",
        "delivered",
        "document_printed",
        "discarded",
        "agent_set",  # since 0016 (帮办代办, 优先办, paper handed to the lead department)
        "priority_set",
        "handed_over",
    }
)
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DECISIONS = ("accepted", "rejected", "completed")

MAX_EVENTS_PER_BATCH = 2000
MAX_EVENT_PAYLOAD = 64 * 1024
# A notice to the applicant (短信告知) as the hub reports it to stations and its administrator.
NOTICE_STATUSES = ("pending", "sending", "retrying", "sent", "failed", "no_phone")
MAX_BLOB_SIZE = 256 * 1024 * 1024
MAX_REASON = 2000
MAX_AUDIT_PER_BATCH = 2000
MAX_AUDIT_ACTION = 100
MAX_AUDIT_TARGET = 1000
MAX_AUDIT_DETAIL = 16 * 1024

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA.match(value))


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_row_id(value: object) -> bool:
    """A staff id as the stores keep it (a 32-bit INTEGER column on PostgreSQL)."""
    return is_int(value) and 0 <= value < 2**31  # type: ignore[operator]


def ts(at: dt.datetime) -> str:
    """The wire form of a time: UTC, microseconds, trailing Z (as the local store keeps it)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def canonical(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def event_digest(ev: Mapping[str, Any]) -> str:
    """What makes two copies of one event the same: everything but the id."""
    body = {k: ev[k] for k in ("seq", "submission_id", "type", "payload", "clerk_id", "at")}
    return hashlib.sha256(canonical(body)).hexdigest()


def check_event(ev: object) -> tuple[str, str] | None:
    """None when EV is a well-formed v1 event, else (code, Chinese message)."""
    if not isinstance(ev, dict):
        return "event.shape", "事件应为 JSON 对象"
    if not is_uuid(ev.get("id")):
        return "event.id", "事件 id 应为小写 UUID"
    seq = ev.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**53:
        return "event.seq", "事件序号应为正整数"
    if not is_uuid(ev.get("submission_id")):
        return "event.submission_id", "受理记录 id 应为小写 UUID"
    if not isinstance(ev.get("type"), str) or not _TYPE.match(ev["type"]):
        return "event.type", "事件类型应为小写字母、数字和下划线（不超过32个字符）"
    payload = ev.get("payload")
    if not isinstance(payload, dict):
        return "event.payload", "事件内容应为 JSON 对象"
    clerk = ev.get("clerk_id")
    if clerk is not None and not is_row_id(clerk):
        return "event.clerk_id", "经办人 id 应为整数或空"
    at = ev.get("at")
    if not isinstance(at, str) or not _TS.match(at):
        return "event.at", "事件时间格式应为 UTC ISO-8601（以 Z 结尾）"
    if len(canonical(payload)) > MAX_EVENT_PAYLOAD:
        return "event.too_large", "事件内容过大"
    if ev["type"] == "page_attached" and (
        not is_sha256(payload.get("sha256"))
        or not is_int(payload.get("size"))
        or not 0 <= payload["size"] <= MAX_BLOB_SIZE
    ):
        return "event.page", "页面事件缺少 sha256 或 size"
    if ev["type"] == "received":
        items = payload.get("items")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return "event.items", "收件事件缺少事项列表"
    extra = set(ev) - {"id", "seq", "submission_id", "type", "payload", "clerk_id", "at"}
    if extra:
        return "event.fields", "事件含有不认识的字段"
    return None


_AUDIT_FIELDS = frozenset(
    {"id", "at", "staff_id", "action", "target", "detail", "prev_hash", "hash"}
)


def check_audit_entry(e: object) -> str | None:
    """None when E is a well-formed audit entry (POST /v1/audit), else why not (Chinese).
    The limits are loose on purpose (the station's store does not enforce its column sizes):
    they only keep a body's size sane; the hash is what proves an entry."""
    if not isinstance(e, dict):
        return "审计记录应为 JSON 对象"
    if set(e) != _AUDIT_FIELDS:
        return "审计记录的字段应为 " + "、".join(sorted(_AUDIT_FIELDS))
    if not is_int(e["id"]) or not 0 < e["id"] < 2**53:
        return "审计记录 id 应为正整数"
    if not isinstance(e["at"], str) or not _TS.match(e["at"]):
        return "审计记录时间格式应为 UTC ISO-8601（以 Z 结尾）"
    if e["staff_id"] is not None and not is_row_id(e["staff_id"]):
        return "经办人 id 应为整数或空"
    if not isinstance(e["action"], str) or not 0 < len(e["action"]) <= MAX_AUDIT_ACTION:
        return f"操作名称应为 1～{MAX_AUDIT_ACTION} 个字符"
    if not isinstance(e["target"], str) or len(e["target"]) > MAX_AUDIT_TARGET:
        return f"操作对象应为不超过 {MAX_AUDIT_TARGET} 个字符的文字"
    if not isinstance(e["detail"], str) or len(e["detail"]) > MAX_AUDIT_DETAIL:
        return f"说明应为不超过 {MAX_AUDIT_DETAIL} 个字符的文字"
    if "\x00" in e["action"] + e["target"] + e["detail"]:
        return "审计记录含有空字符"
    if not is_sha256(e["prev_hash"]) or not is_sha256(e["hash"]):
        return "prev_hash 与 hash 应为 64 位小写十六进制"
    return None


def check_status_update(u: object) -> str | None:
    """None when U is a well-formed status update (as the hub's feed sends it), else why not."""
    if not isinstance(u, dict):
        return "不是 JSON 对象"
    if not is_int(u.get("cursor")) or u["cursor"] < 1:
        return "cursor 应为正整数"
    if not is_uuid(u.get("submission_id")):
        return "submission_id 格式不对"
    if not isinstance(u.get("item_id"), str) or not 0 < len(u["item_id"]) <= 64:
        return "item_id 格式不对"
    if u.get("decision") not in DECISIONS:
        return "decision 不在 accepted / rejected / completed 之中"
    reason = u.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        return "reason 应为不超过 2000 字的文字"
    if u["decision"] == "rejected" and not reason.strip():
        return "不予受理缺少理由"
    at = u.get("decided_at")
    if not isinstance(at, str) or not _TS.match(at):
        return "decided_at 格式不对"
    return None


# ----------------------------------------------------------------------------- page batches
# POST /v1/blobs body: parts of "<sha256> <offset> <length> <total>\n" + LENGTH bytes, repeated.


def frame_header(sha256: str, offset: int, length: int, total: int) -> bytes:
    return f"{sha256} {offset} {length} {total}\n".encode("ascii")


def parse_frame_header(line: bytes) -> tuple[str, int, int, int] | None:
    try:
        sha, offset, length, total = line.decode("ascii").split()
        o, n, t = int(offset), int(length), int(total)
    except (ValueError, UnicodeDecodeError):
        return None
    if not is_sha256(sha) or o < 0 or n < 0 or t < 0 or o + n > t or t > MAX_BLOB_SIZE:
        return None
    return sha, o, n, t


def intake_bundle(head: Mapping[str, Any], parts: Iterable[tuple[str, bytes]]) -> bytes:
    """The body of POST /v1/intakes: the JSON head, then each page (sha, its bytes) whole."""
    raw = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()
    body = bytearray(b"%d\n" % len(raw))
    body += raw
    for sha, data in parts:
        body += frame_header(sha, 0, len(data), len(data))
        body += data
    return bytes(body)


def iter_frames(parts: Iterable[tuple[str, int, int, BinaryIO | bytes]]) -> Iterator[bytes]:
    """The body of a page batch, streamed: (sha, offset, total, data-from-offset) per part."""
    for sha, offset, total, data in parts:
        if isinstance(data, bytes):
            yield frame_header(sha, offset, len(data), total)
            yield data
        else:
            yield frame_header(sha, offset, total - offset, total)
            while chunk := data.read(256 * 1024):
                yield chunk


def ranges(seqs: Iterable[int]) -> list[list[int]]:
    """Sorted integers as inclusive [first, last] runs."""
    out: list[list[int]] = []
    for s in seqs:
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        elif not out or s > out[-1][1]:
            out.append([s, s])
    return out


def in_ranges(value: int, runs: list[list[int]]) -> bool:
    import bisect

    i = bisect.bisect_right(runs, [value, float("inf")]) - 1
    return i >= 0 and runs[i][0] <= value <= runs[i][1]
