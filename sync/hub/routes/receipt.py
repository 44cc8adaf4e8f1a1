"""The public status page a receipt's QR opens: the signed token is the credential, so it shows
only masked facts."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from app.receipts import HUB_QUERY_PATH
from app.state import STAGE_LABELS
from sync.hub.routes.common import Hub, call

router = APIRouter()


@router.get(
    HUB_QUERY_PATH,
    response_class=HTMLResponse,
    tags=["receipt"],
    summary="the status page a receipt's QR opens",
    responses={
        code: {"description": d, "content": {"text/html": {"schema": {"type": "string"}}}}
        for code, d in (
            (200, "masked status"),
            (400, "malformed link"),
            (403, "forged or altered"),
        )
    },
)
async def receipt_page(
    hub: Hub,
    t: str = Query("", description="the signed token (YJS1|R|…)"),
) -> HTMLResponse:
    """The page a phone opens from a receipt's QR: the signed token in the link is the
    credential, so it shows only masked facts; a bad or forged token gets a 4xx page."""
    status, info = await call(hub.store.receipt_status, t)
    return HTMLResponse(
        _receipt_html(status, info),
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
        },
    )


_DECISION_LABELS = {
    "accepted": "已受理",
    "rejected": "不予受理",
    "completed": "已办结",
    None: "待部门受理",
}


def _receipt_html(status: int, info: dict[str, Any]) -> str:
    """The public status page (Chinese, every value escaped, nothing unmasked)."""
    e = html.escape
    head = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>办理进度查询</title>'
        '<body style="font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em">'
        "<h1>办理进度查询</h1>"
    )
    if status != 200:
        return (
            head + f"<p><strong>无法查询。</strong>{e(str(info.get('message', '')))}</p>"
            "<p>请核对收件回执，或凭回执上的受理编号到受理窗口查询。</p></body></html>"
        )
    rows = [("受理编号", str(info.get("number") or "")), ("回执", "真实有效（签名核验通过）")]
    if not info.get("on_hub"):
        return (
            head
            + _table(rows)
            + "<p>办理信息尚未同步到平台，请稍后再查，或凭受理编号到受理窗口查询。</p></body></html>"
        )
    rows += [
        ("申请人", info.get("applicant") or ""),
        ("证件号码", info.get("id_masked") or ""),
        ("当前状态", STAGE_LABELS.get(str(info.get("stage")), str(info.get("stage") or ""))),
    ]
    items = "".join(
        f"<tr><td>{e(i['name'])}</td><td>{e(_DECISION_LABELS.get(i['decision'], str(i['decision'])))}"
        + (f"（{e(i['reason'])}）" if i["decision"] == "rejected" and i["reason"] else "")
        + "</td></tr>"
        for i in info.get("items", [])
    )
    return (
        head
        + _table(rows)
        + '<h2>办理事项</h2><table border="1" cellpadding="4" style="border-collapse:collapse">'
        f"<tr><th>事项</th><th>状态</th></tr>{items}</table></body></html>"
    )


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<tr><th style="text-align:left">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>'
        for k, v in rows
    )
    return f'<table cellpadding="4">{body}</table>'
