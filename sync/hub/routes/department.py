"""Departments: recording decisions, their view of submissions, checking a receipt, their page."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from sync.hub.errors import HubError
from sync.hub.routes.common import Dept, Hub, ShaPath, answers, call, json_body, read_body
from sync.schemas import DecisionIn, DecisionOut, DeptSubmissions, VerifyIn, VerifyOut

log = logging.getLogger("intake.hub.api")
router = APIRouter()


@router.post(
    "/v1/dept/decisions",
    status_code=201,
    tags=["department"],
    summary="record 受理 / 不予受理 / 办结 for an item",
    openapi_extra=json_body(DecisionIn),
    responses=answers(DecisionOut, 201, 400, 401, 403, 404, 409, 413, 415, 422),
)
async def decide(request: Request, dept: Dept, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, DecisionIn)
    if not dept.sees(body.item_id):
        raise HubError(403, "decision.not_pushed", "该事项未推送给本部门，不能登记办理结果")
    return await call(  # type: ignore[no-any-return]
        hub.store.decide,
        item_id=body.item_id,
        decision=body.decision,
        reason=body.reason,
        submission_id=body.submission_id,
        number=body.number,
        decision_id=body.decision_id,
        department=body.department or dept.name,
    )


@router.get(
    "/v1/dept/submissions",
    tags=["department"],
    summary="received submissions with the items pushed to this department",
    responses=answers(DeptSubmissions, 200, 400, 401),
)
async def dept_submissions(
    dept: Dept,
    hub: Hub,
    station: str | None = Query(None, max_length=8),
    limit: int = Query(200, ge=1, le=1000),
    after: str | None = Query(
        None,
        max_length=80,
        description="the `next` of the previous answer (absent: from the start)",
    ),
) -> dict[str, Any]:
    return await call(  # type: ignore[no-any-return]
        hub.store.submissions, station_code=station, limit=limit, items=dept.items, after=after
    )


_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}


@router.get(
    "/v1/dept/submissions/{sid}",
    tags=["department"],
    summary="one submission pushed to this department: its events (decrypted) and pages",
    responses={
        200: {"description": "the submission", "content": _JSON_OBJECT},
        **answers(None, 400, 401, 404),
    },
)
async def dept_submission(sid: str, dept: Dept, hub: Hub) -> dict[str, Any]:
    out = await call(hub.store.dept_submission, sid, dept.items)
    log.info("department %s read submission %s", dept.name, out["submission_id"])
    return out  # type: ignore[no-any-return]


@router.get(
    "/v1/dept/pages/{sha}",
    tags=["department"],
    summary="a page of a submission pushed to this department (decrypted)",
    responses={
        200: {
            "description": "the page as the station sent it",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        **answers(None, 400, 401, 404),
    },
)
async def dept_page_bytes(sha: ShaPath, dept: Dept, hub: Hub) -> Response:
    if not await call(hub.store.dept_may_read_page, sha, dept.items) or not await call(
        hub.blobs.has, sha
    ):
        raise HubError(404, "page.unknown", "平台上没有该页面，或该页面不属于推送给本部门的事项")
    data = await call(hub.blobs.read, sha)
    log.info("department %s read page %s", dept.name, sha[:12])
    return Response(data, media_type="application/octet-stream")


@router.post(
    "/v1/receipts/verify",
    tags=["department"],
    summary="check a scanned receipt QR against the enrolled keys",
    openapi_extra=json_body(VerifyIn),
    responses=answers(VerifyOut, 200, 400, 401, 413, 415),
)
async def verify_receipt(request: Request, _dept: Dept, hub: Hub) -> dict[str, Any]:
    body = await read_body(request, VerifyIn)
    return await call(hub.store.check_receipt, body.payload)  # type: ignore[no-any-return]


@router.get(
    "/dept",
    response_class=HTMLResponse,
    tags=["department"],
    summary="departments' web page",
    responses={
        200: {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
    },
)
async def dept_page() -> str:
    return _DEPT_PAGE


_DEPT_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>部门办理结果登记与回执核验</title>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<p><label>部门接口密钥 <input id="key" type="password" required></label></p>
<h1>部门办理结果登记</h1>
<p>填写受理编号和事项，登记受理 / 不予受理 / 办结，结果会回传到受理窗口。</p>
<form id="f">
<p><label>受理编号 <input name="number" required></label></p>
<p><label>事项 id <input name="item_id" required></label></p>
<p><label>结果 <select name="decision"><option value="accepted">受理</option>
<option value="rejected">不予受理</option><option value="completed">办结</option></select></label></p>
<p><label>理由（不予受理必填） <input name="reason"></label></p>
<p><button>登记</button></p></form><pre id="out"></pre>
<h1>收件回执核验</h1>
<p>扫描或粘贴回执二维码内容，用站点登记在平台的公钥核验回执真伪。</p>
<form id="v">
<p><label>回执二维码内容 <input name="payload" size="60" required></label></p>
<p><button>核验</button></p></form><pre id="verdict"></pre>
<script>
const post = async (path, body) => {
  const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json',
    'Authorization': 'Bearer ' + document.getElementById('key').value}, body: JSON.stringify(body)});
  return r.json();
};
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault(); const d = Object.fromEntries(new FormData(e.target));
  const a = await post('/v1/dept/decisions', {number: d.number, item_id: d.item_id, decision: d.decision,
    reason: d.reason});
  document.getElementById('out').textContent = JSON.stringify(a, null, 2);
};
document.getElementById('v').onsubmit = async (e) => {
  e.preventDefault(); const d = Object.fromEntries(new FormData(e.target));
  const a = await post('/v1/receipts/verify', {payload: d.payload});
  document.getElementById('verdict').textContent = a.error ? a.error.message
    : (a.valid ? '真实有效' : '无效') + '：' + a.message + (a.number ? '（' + a.number + '）' : '');
};
</script></body></html>
"""
